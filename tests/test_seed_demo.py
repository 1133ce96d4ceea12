from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from leads import bulk_rows
from leads.models import ApiKey, Lead, LeadStatusChange, MonitoredGroup, hash_api_key
from leads.pipeline import STATUSES, Status, can_transition
from leads.totals import reconcile_totals
from leads.waiting import waiting_threshold

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_it_loads_leads_over_every_status_in_several_scripts():
    seed("--leads", "600", "--no-credentials")

    assert Lead.objects.count() == 600
    assert set(Lead.objects.values_list("lead_status", flat=True)) == set(STATUSES)
    names = " ".join(MonitoredGroup.objects.values_list("name", flat=True))
    assert "נדל" in names and "سيارات" in names  # Hebrew and Arabic groups
    contacts = " ".join(Lead.objects.values_list("contact_name", flat=True))
    assert any("\u0590" <= ch <= "\u05ff" for ch in contacts)
    assert any("\u0600" <= ch <= "\u06ff" for ch in contacts)


def test_running_it_twice_adds_nothing():
    seed("--leads", "300", "--no-credentials")
    history = LeadStatusChange.objects.count()

    output = seed("--leads", "300", "--no-credentials")

    assert "0 leads added" in output
    assert Lead.objects.count() == 300
    assert LeadStatusChange.objects.count() == history


def test_every_demo_history_is_a_chain_of_allowed_steps_ending_in_the_status():
    seed("--leads", "300", "--no-credentials")

    assert_histories_follow_the_pipeline()


def assert_histories_follow_the_pipeline() -> None:
    for lead in Lead.objects.prefetch_related("status_changes"):
        status = "new"
        for change in lead.status_changes.all():
            assert change.from_status == status
            assert can_transition(change.from_status, change.to_status)
            status = change.to_status
        assert status == lead.lead_status


def test_it_makes_as_many_groups_as_asked():
    seed("--leads", "100", "--groups", "50", "--no-credentials")

    assert MonitoredGroup.objects.count() == 50


def test_the_printed_login_and_key_work_and_the_previous_key_is_revoked():
    first_key = seed("--leads", "10").splitlines()[-1].split(": ")[1]

    lines = seed("--leads", "10").splitlines()
    password = lines[-2].split(" / ")[1]
    key = lines[-1].split(": ")[1]

    assert authenticate(username="demo", password=password) is not None
    assert ApiKey.objects.get(key_hash=hash_api_key(key)).revoked_at is None
    assert ApiKey.objects.get(key_hash=hash_api_key(first_key)).revoked_at is not None


def test_the_kept_totals_are_exact_after_a_seed_and_a_re_run():
    seed("--leads", "700", "--no-credentials")
    seed("--leads", "900", "--no-credentials")

    assert Lead.objects.count() == 900
    assert reconcile_totals() == {}  # nothing to correct


def test_a_working_team_has_handled_all_but_the_freshest_leads():
    seed("--leads", "3000", "--no-credentials")
    now = timezone.now()

    new = Lead.objects.filter(lead_status=Status.NEW)
    waiting = new.filter(lead_detected_at__lt=now - waiting_threshold())
    assert 0 < new.count() < 3000 * 0.02  # some fresh leads on the board, most handled
    assert waiting.count() <= 3000 * 0.005  # the wall's alarm: a handful, not a thousand
    assert not new.filter(lead_detected_at__lt=now - timedelta(days=1)).exists()
    assert not LeadStatusChange.objects.filter(changed_at__gt=timezone.now()).exists()


def _schema(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %s::regclass "
            "UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass",
            [table, table],
        )
        return {definition for (definition,) in cursor.fetchall()}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="rebuilds indexes on PostgreSQL")
def test_a_big_load_rebuilds_indexes_and_keys_exactly_as_they_were(monkeypatch):
    before = {table: _schema(table) for table in ("leads_lead", "leads_leadstatuschange")}
    monkeypatch.setattr(bulk_rows, "REBUILD_FROM_ROWS", 1)  # this load counts as big

    seed("--leads", "500", "--no-credentials")

    assert Lead.objects.count() == 500
    assert {table: _schema(table) for table in before} == before
    assert reconcile_totals() == {}
    assert_histories_follow_the_pipeline()
