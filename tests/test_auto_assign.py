"""Automatic assignment: new leads of a group go round-robin to the reps a manager chose.

Personas: two reps (Rick and Rita), a manager (Mona) and a viewer (Vera).
"""

import uuid

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from leads import assignments
from leads.auto_assign import auto_assign, set_rule
from leads.models import AutoAssignRule, LeadTimelineEntry, TimelineKind
from leads.pipeline import Status
from leads.roles import VIEWER
from leads.services import Actor
from leads.sources.records import GroupRef, LeadRecord
from leads.sync import LeadMirror
from tests.factories import make_group, make_lead
from tests.people import person, signed_in

pytestmark = pytest.mark.django_db

PAGE = "/settings/auto-assign/"


def owner_label(lead_id: uuid.UUID) -> str | None:
    owner = assignments.owner_of(lead_id)
    return owner.label if owner else None


def test_new_leads_of_a_group_go_to_its_reps_in_turn(rick: User, rita: User) -> None:
    group = make_group()
    set_rule(group.id, [rick, rita])
    owners = [owner_label(make_lead(group).id) for _ in range(4)]
    assert owners == ["Rick", "Rita", "Rick", "Rita"]
    entry = LeadTimelineEntry.objects.filter(kind=TimelineKind.ASSIGNED).first()
    assert entry is not None and entry.actor_label == "auto-assignment"
    assert "(automatic, in turn)" in entry.text


def test_a_group_without_a_rule_leaves_its_leads_unassigned(rick: User) -> None:
    set_rule(make_group().id, [rick])
    assert owner_label(make_lead(make_group()).id) is None


def test_a_rep_no_longer_active_is_skipped(rick: User, rita: User) -> None:
    group = make_group()
    set_rule(group.id, [rick, rita])
    rita.is_active = False
    rita.save()
    assert [owner_label(make_lead(group).id) for _ in range(2)] == ["Rick", "Rick"]


def test_choosing_nobody_switches_it_off(rick: User) -> None:
    group = make_group()
    set_rule(group.id, [rick])
    set_rule(group.id, [])
    assert not AutoAssignRule.objects.exists()
    assert owner_label(make_lead(group).id) is None


def test_a_lead_someone_already_took_is_never_reassigned(rick: User, rita: User) -> None:
    group = make_group()
    lead = make_lead(group)
    assignments.lead_take(lead.id, rita)
    set_rule(group.id, [rick])
    assert auto_assign(lead.id, group.id) is None
    assert owner_label(lead.id) == "Rita"


def test_leads_the_moltflow_sync_creates_are_assigned_too(rick: User) -> None:
    group = make_group(name="Upstream group")
    set_rule(group.id, [rick])
    record = LeadRecord(
        id=uuid.uuid4(),
        contact_phone="+972521234567",
        contact_name="Upstream Buyer",
        status=Status.NEW,
        score=0,
        detected_at=timezone.now(),
        source_group=GroupRef(id=group.id, name=group.name),
        matched_keyword="price",
        message_preview="price?",
        monitor_mode="keywords",
    )
    assert LeadMirror(Actor(kind="sync", label="sync")).upsert(record) == "created"
    assert owner_label(record.id) == "Rick"


# --- the settings page ----------------------------------------------------------------------


def test_a_manager_chooses_the_reps_of_a_group(mona: User, rick: User, rita: User) -> None:
    group = make_group(name="Real Estate IL")
    client = signed_in(mona)
    page = client.get(PAGE).content.decode()
    assert "Real Estate IL" in page and 'name="reps"' in page
    response = client.post(PAGE, {"group": str(group.id), "reps": [rick.pk, rita.pk]})
    assert response.status_code == 302
    assert set(AutoAssignRule.objects.get(group_id=group.id).reps.all()) == {rick, rita}
    page = client.get(PAGE).content.decode()
    assert f'value="{rick.pk}" checked' in page


def test_the_page_refuses_a_viewer_or_someone_who_cannot_own_leads(mona: User, rick: User) -> None:
    group = make_group()
    vera = person("vera", VIEWER, "Vera")
    assert signed_in(rick).get(PAGE).status_code == 403
    response = signed_in(mona).post(PAGE, {"group": str(group.id), "reps": [vera.pk]})
    assert response.status_code == 400
    assert signed_in(mona).post(PAGE, {"group": "nope"}).status_code == 400
    assert signed_in(mona).post(PAGE, {"group": str(uuid.uuid4())}).status_code == 400
    assert not AutoAssignRule.objects.exists()
