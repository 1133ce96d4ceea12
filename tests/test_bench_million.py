"""`bench_million`'s store growth keeps the totals exact, and the command runs (tiny sizes).

The growth is PostgreSQL SQL; on SQLite the command refuses with the reason.
"""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from leads import bench_store
from leads.models import Lead
from leads.totals import reconcile_totals, totals_by_status
from tests.factories import make_group, make_lead

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the store grows with PostgreSQL's SQL"
)


def counted_by_status() -> dict[str, int]:
    return {
        status: Lead.objects.filter(lead_status=status).count()
        for status in ("new", "contacted", "qualified", "converted", "lost")
    }


@postgres_only
def test_growing_and_shrinking_the_store_keeps_the_totals_exact() -> None:
    group = make_group()
    for status in ("new", "new", "contacted", "lost", "converted"):
        make_lead(group, status=status, phone=None if status == "lost" else "")

    added = bench_store.grow_leads(23, print)

    assert added == 18 and Lead.objects.count() == 23
    assert {s.value: n for s, n in totals_by_status().items()} == counted_by_status()
    assert reconcile_totals() == {}
    copy = Lead.objects.filter(contact_jid__startswith="copy", contact_phone__isnull=False)[0]
    assert copy.contact_phone.lstrip("+") in copy.search_text
    assert Lead.objects.filter(contact_jid__startswith="copy", contact_phone=None).exists()
    # The indexes dropped for the copy are all back.
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'leads_lead'")
        names = {name for (name,) in cursor.fetchall()}
    assert {"lead_search_trgm", "lead_status_name_newest", "lead_newest_first"} <= names

    assert bench_store.shrink_leads() == 18
    assert Lead.objects.count() == 5
    assert {s.value: n for s, n in totals_by_status().items()} == counted_by_status()


@postgres_only
def test_the_command_measures_both_sizes_with_their_peers() -> None:
    out = io.StringIO()

    call_command("bench_million", small=30, large=70, runs=1, stdout=out)

    report = out.getvalue()
    assert "vs admin @ 30" in report and "vs admin @ 70" in report
    assert "board @ 70" in report and "same @ 30" in report
    assert "table ?sort=group_name @ 70" in report
    assert "table, Next link 95% of the way down (keyset) @ 70" in report
    assert "50-row cells" in report or "-row cells, LeadTable.lead_rows()" in report
    assert "table page (50 rows), gzip" in report
    assert "load average" in report
    assert Lead.objects.count() <= 70 and not Lead.objects.filter(contact_jid__startswith="copy")


def test_on_sqlite_the_command_refuses_and_says_why() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("this is the SQLite refusal")
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command("bench_million", small=10, large=20, runs=1, stdout=io.StringIO())
