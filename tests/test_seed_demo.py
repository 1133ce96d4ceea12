from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from leads.models import ApiKey, Lead, LeadStatusChange, MonitoredGroup, hash_api_key
from leads.pipeline import STATUSES, can_transition

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


def test_demo_leads_are_mostly_handled_so_the_waiting_alarm_shows_a_few():
    from leads.waiting import is_waiting_too_long

    seed("--leads", "3000", "--no-credentials")
    leads = Lead.objects.values_list("lead_status", "lead_detected_at")
    waiting = sum(is_waiting_too_long(status, detected) for status, detected in leads)
    assert Lead.objects.filter(lead_status="new").exists()
    assert waiting <= 100, waiting  # a working team's backlog, not 1,248 leads for weeks
