"""`manage.py bench_api` keeps working (tiny sizes; the real run is on PostgreSQL)."""

import io

import pytest
from django.core.management import call_command

from leads.models import ApiKey, Lead, LeadStatusChange

pytestmark = pytest.mark.django_db


def test_the_benchmark_seeds_times_every_variant_and_leaves_the_store_as_it_was():
    out = io.StringIO()

    call_command("bench_api", leads=40, runs=2, stdout=out)

    report = out.getvalue()
    assert Lead.objects.count() >= 40
    for line in ["GET /leads ", "GET /leads?status=contacted", "(deep)", "POST /leads/bulk/status"]:
        assert line in report
    assert "median" in report and "p95" in report
    history = LeadStatusChange.objects.count()
    call_command("bench_api", leads=40, runs=2, stdout=io.StringIO())
    assert LeadStatusChange.objects.count() == history  # the bulk move was rolled back
    assert not ApiKey.objects.filter(name="bench_api").exists()
