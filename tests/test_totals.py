"""The kept totals per (group, status), and per day, equal the counted leads through every
write path."""

import io
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads import services
from leads.models import Lead, LeadDayTotal, LeadTotal
from leads.pipeline import STATUSES, Status
from leads.services import Actor
from leads.sources.local import LocalSource
from leads.sources.records import LeadQuery
from leads.totals import reconcile_totals, totals_by_status
from tests.factories import make_group, make_lead

SYSTEM = Actor.system("test")


def counted(group_id=None) -> dict[str, int]:
    leads = Lead.objects.all()
    if group_id is not None:
        leads = leads.filter(source_group_id=group_id)
    return {s.value: leads.filter(lead_status=s.value).count() for s in STATUSES}


def kept(group_id=None) -> dict[str, int]:
    return {status.value: n for status, n in totals_by_status(group_id).items()}


def per_day_counted() -> dict[tuple, int]:
    counts: dict[tuple, int] = {}
    for group_id, status, at in Lead.objects.values_list(
        "source_group_id", "lead_status", "lead_detected_at"
    ):
        key = (group_id, status, at.astimezone(UTC).date())
        counts[key] = counts.get(key, 0) + 1
    return counts


def per_day_kept() -> dict[tuple, int]:
    return {
        (total.group_id, total.status, total.day): total.total
        for total in LeadDayTotal.objects.exclude(total=0)
    }


@pytest.mark.django_db
def test_creating_leads_adds_them_to_their_group_and_status():
    group, other = make_group(), make_group()
    make_lead(group, status="new")
    make_lead(group, status="new")
    make_lead(other, status="lost")
    assert kept(group.id) == {**counted(group.id), "new": 2}
    assert kept() == counted()
    assert kept()["lost"] == 1
    assert per_day_kept() == per_day_counted()


@pytest.mark.django_db
def test_a_status_change_moves_one_lead_between_totals():
    lead = make_lead(status="new")
    services.lead_change_status(lead.id, "contacted", SYSTEM)
    assert kept()["new"] == 0
    assert kept()["contacted"] == 1
    assert per_day_kept() == per_day_counted()


@pytest.mark.django_db
def test_a_bulk_change_moves_every_lead_it_moved_and_no_other():
    group = make_group()
    leads = [make_lead(group, status="new") for _ in range(3)]
    converted = make_lead(group, status="converted")
    services.lead_bulk_change_status([lead.id for lead in [*leads, converted]], "lost", SYSTEM)
    assert kept(group.id) == counted(group.id)
    assert kept(group.id)["lost"] == 3 and kept(group.id)["converted"] == 1
    assert per_day_kept() == per_day_counted()


@pytest.mark.django_db
def test_status_updates_outside_the_services_and_other_field_updates_keep_totals_exact():
    lead = make_lead(status="qualified")
    Lead.objects.filter(pk=lead.id).update(lead_status="new")
    Lead.objects.filter(pk=lead.id).update(message_count=5)
    assert kept() == counted()
    assert kept()["new"] == 1
    assert per_day_kept() == per_day_counted()


@pytest.mark.django_db
def test_deleting_leads_or_their_group_takes_them_out():
    group, other = make_group(), make_group()
    doomed = make_lead(group, status="new")
    make_lead(group, status="contacted")
    make_lead(other, status="new")
    doomed.delete()
    assert kept(group.id) == counted(group.id)
    group.delete()
    assert kept() == counted()
    assert sum(kept().values()) == 1
    assert per_day_kept() == per_day_counted()


@pytest.mark.django_db
def test_a_lead_detected_at_another_time_moves_to_that_day_and_midnight_is_utc():
    group, midnight = make_group(), datetime(2026, 3, 4, tzinfo=UTC)
    late = make_lead(group, status="new", detected_at=midnight - timedelta(microseconds=1))
    make_lead(group, status="new", detected_at=midnight)
    assert set(per_day_kept().values()) == {1}
    assert {day for _, _, day in per_day_kept()} == {
        midnight.date(),
        midnight.date() - timedelta(1),
    }
    Lead.objects.filter(pk=late.pk).update(lead_detected_at=midnight + timedelta(hours=23))
    assert per_day_kept() == per_day_counted()
    assert list(per_day_kept().values()) == [2]


@pytest.mark.django_db
def test_reconcile_repairs_totals_that_drifted_and_reports_what_it_fixed():
    group = make_group()
    make_lead(group, status="new")
    make_lead(group, status="new")
    LeadTotal.objects.filter(group_id=group.id, status="new").update(total=7)
    LeadTotal.objects.create(group_id=make_group().id, status="lost", total=3)

    LeadDayTotal.objects.update(total=5)
    LeadDayTotal.objects.create(group_id=group.id, status="new", day="2020-01-01", total=1)

    fixed = reconcile_totals()

    assert fixed[(group.id, "new")] == (7, 2)
    assert fixed[(group.id, "new", datetime(2020, 1, 1).date())] == (1, 0)
    assert kept() == counted()
    assert per_day_kept() == per_day_counted()
    assert reconcile_totals() == {}


@pytest.mark.django_db
def test_the_reconcile_command_says_how_many_totals_it_corrected():
    lead = make_lead(status="new")
    LeadTotal.objects.filter(status="new").update(total=0)
    out = call_command_output("reconcile_totals")
    assert "corrected 1" in out
    assert kept(lead.source_group_id)["new"] == 1


def call_command_output(name: str) -> str:
    buffer = io.StringIO()
    call_command(name, stdout=buffer)
    return buffer.getvalue()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
def test_totals_stay_exact_under_concurrent_writers():
    group = make_group()
    leads = [make_lead(group, status="new") for _ in range(40)]
    barrier = threading.Barrier(4)

    def writer(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            mine = leads[index::4]
            services.lead_bulk_change_status([lead.id for lead in mine[:5]], "contacted", SYSTEM)
            for lead in mine[5:]:
                services.lead_change_status(lead.id, "lost", SYSTEM)
            make_lead(group, status="qualified")
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert kept(group.id) == counted(group.id)
    assert kept(group.id) == {"new": 0, "contacted": 20, "qualified": 4, "converted": 0, "lost": 20}
    assert per_day_kept() == per_day_counted()


@pytest.mark.django_db
def test_the_local_source_reads_unsearched_counts_from_the_totals_not_the_rows():
    group = make_group()
    make_lead(group, status="new")
    LeadTotal.objects.filter(group_id=group.id, status="new").update(total=500)
    source = LocalSource()
    assert source.count_by_status(LeadQuery(source_group_id=group.id))[Status.NEW] == 500
    assert source.count_by_status(LeadQuery(status=Status.LOST))[Status.NEW] == 500
    # A search cannot be answered from totals: it counts the rows.
    assert source.count_by_status(LeadQuery(search="price"))[Status.NEW] == 1


@pytest.mark.django_db
def test_capped_counts_stop_past_the_cap_and_say_so():
    group = make_group()
    for _ in range(3):
        make_lead(group, status="new", keyword="price")
    make_lead(group, status="lost", keyword="price")
    make_lead(group, status="lost", keyword="other", preview="")

    counts = LocalSource().count_by_status_capped(LeadQuery(search="price"), cap=3, tab_cap=2)

    assert counts.counts == {
        Status.NEW: 2,
        Status.CONTACTED: 0,
        Status.QUALIFIED: 0,
        Status.CONVERTED: 0,
        Status.LOST: 1,
    }
    assert counts.capped == {Status.NEW}
    assert counts.matching(Status.LOST) == (1, False)
    # All statuses together are counted to the larger cap: 4 matches, more than 3.
    assert counts.matching(None) == (3, True)


@pytest.mark.django_db
def test_the_status_asked_for_is_counted_to_the_larger_cap():
    group = make_group()
    for _ in range(3):
        make_lead(group, status="new", keyword="price")
    query = LeadQuery(search="price", status=Status.NEW)

    counts = LocalSource().count_by_status_capped(query, cap=5, tab_cap=1)

    assert counts.matching(Status.NEW) == (3, False)


@pytest.mark.django_db
def test_a_search_with_few_matches_counts_every_status_exactly_in_one_statement():
    # A person's name or number finds a few leads: no status stops at the tabs' cap then.
    group = make_group()
    for _ in range(3):
        make_lead(group, status="new", keyword="price")
    for _ in range(2):
        make_lead(group, status="lost", keyword="price")
    make_lead(group, status="contacted", keyword="other", preview="")

    with CaptureQueriesContext(connection) as statements:
        counts = LocalSource().count_by_status_capped(LeadQuery(search="price"), cap=5, tab_cap=1)

    assert len(statements) == 1
    assert counts.counts == {
        Status.NEW: 3,
        Status.CONTACTED: 0,
        Status.QUALIFIED: 0,
        Status.CONVERTED: 0,
        Status.LOST: 2,
    }
    assert counts.capped == frozenset()
    assert counts.matching(None) == (5, False)
    assert counts.matching(Status.LOST) == (2, False)
    # With a status chosen the probe stops at the tabs' cap: here it is full, so each
    # status is counted to its own cap as before.
    chosen = LeadQuery(search="price", status=Status.LOST)
    counts = LocalSource().count_by_status_capped(chosen, cap=5, tab_cap=1)
    assert counts.matching(Status.LOST) == (2, False)
    assert counts.counts[Status.NEW] == 1
    assert counts.capped == {Status.NEW}
    counts = LocalSource().count_by_status_capped(chosen, cap=5, tab_cap=5)
    assert counts.counts[Status.NEW] == 3
    assert counts.capped == frozenset()


@pytest.mark.django_db
def test_capped_counts_without_a_search_are_exact_totals():
    group = make_group()
    for _ in range(3):
        make_lead(group, status="new")
    counts = LocalSource().count_by_status_capped(LeadQuery(status=Status.NEW), cap=2, tab_cap=1)
    assert counts.counts[Status.NEW] == 3
    assert counts.capped == frozenset()


@pytest.mark.django_db(transaction=True)
def test_sqlite_triggers_dropped_by_a_table_rebuild_come_back_after_migrate():
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps its triggers through ALTER TABLE")
    group = make_group()
    with connection.cursor() as cursor:  # what a migration's rebuild of leads_lead does
        cursor.execute("DROP TRIGGER leads_lead_totals_insert")
    make_lead(group, status="new")  # written while the trigger is gone: not counted
    assert kept(group.id)["new"] == 0

    call_command("migrate", verbosity=0)

    assert kept(group.id) == counted(group.id)
    make_lead(group, status="new")
    assert kept(group.id)["new"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_flush_leaves_no_negative_totals_behind():
    # What the test runner does between transactional (browser) tests: on SQLite each table
    # is emptied by a DELETE, which the delete trigger counts after the totals were emptied.
    make_lead(make_group(), status="new")
    make_lead(make_group(), status="lost")

    call_command("flush", interactive=False, verbosity=0)

    assert LeadTotal.objects.count() == 0
    assert kept() == {status.value: 0 for status in STATUSES}
    assert LeadDayTotal.objects.count() == 0
