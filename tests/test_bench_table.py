"""`manage.py bench_table` keeps working (tiny sizes; the real run is on PostgreSQL)."""

import io

import pytest
from django.core.management import call_command

from leads.models import Lead

pytestmark = pytest.mark.django_db


def test_the_benchmark_seeds_and_times_the_table_next_to_the_admin() -> None:
    out = io.StringIO()

    call_command("bench_table", leads=60, runs=2, stdout=out)

    report = out.getvalue()
    assert Lead.objects.count() >= 60
    table_line = next(
        line for line in report.splitlines() if line.startswith("table page vs admin changelist")
    )
    # The table's row names the admin as its peer and gives a ratio.
    assert "admin changelist ?lead_status__exact=new&q=price&o=1" in table_line
    assert table_line.rstrip().endswith("x")
    assert "table ?sort=group_name" in report
    assert "median" in report and "p95" in report
