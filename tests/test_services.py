"""The services: the only code that writes lead status, and custom-group membership."""

import random
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import CustomGroup, CustomGroupMember, Lead, LeadStatusChange
from leads.pipeline import InvalidTransition
from leads.services import (
    Actor,
    LeadNotFound,
    StaleStatus,
    custom_group_add_leads,
    lead_bulk_change_status,
    lead_change_status,
)
from tests.factories import make_api_key, make_group, make_lead
from tests.test_pipeline import ALL_STATUSES, ALLOWED_MOVES

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")


def statuses_of(leads: list[Lead]) -> list[str]:
    return [Lead.objects.get(pk=lead.pk).lead_status for lead in leads]


# --- One lead ------------------------------------------------------------------------------


def test_it_moves_a_lead_and_writes_one_history_row_naming_the_api_key():
    key, _ = make_api_key()
    lead = make_lead(status="new")
    actor = Actor(kind="api_key", api_key_id=key.id, label=f"API key {key.name}")

    moved = lead_change_status(lead.id, "contacted", actor, reason="called back")

    assert moved.lead_status == "contacted"
    assert Lead.objects.get(pk=lead.pk).lead_status == "contacted"
    [change] = LeadStatusChange.objects.filter(lead=lead)
    assert (change.from_status, change.to_status) == ("new", "contacted")
    assert change.actor_kind == "api_key"
    assert change.api_key_id == key.id
    assert change.actor_label == f"API key {key.name}"
    assert change.reason == "called back"


def test_it_records_the_user_who_moved_a_lead():
    user = get_user_model().objects.create_user("dana")
    lead = make_lead(status="contacted")

    lead_change_status(lead.id, "qualified", Actor(kind="user", user_id=user.id, label="dana"))

    [change] = LeadStatusChange.objects.filter(lead=lead)
    assert (change.actor_kind, change.user_id) == ("user", user.id)


def test_it_bumps_updated_at_when_it_moves_a_lead():
    lead = make_lead(status="new")
    before = Lead.objects.get(pk=lead.pk).updated_at

    moved = lead_change_status(lead.id, "lost", SYSTEM)

    assert moved.updated_at > before


def test_it_refuses_a_move_to_the_same_status():
    lead = make_lead(status="new")

    with pytest.raises(InvalidTransition, match="Invalid status transition: new -> new"):
        lead_change_status(lead.id, "new", SYSTEM)


@pytest.mark.parametrize(
    ("current", "target"),
    [("converted", "lost"), ("qualified", "contacted"), ("lost", "converted"), ("new", "new")],
)
def test_a_refused_move_changes_nothing(current, target):
    lead = make_lead(status=current)
    before = Lead.objects.get(pk=lead.pk)

    with pytest.raises(InvalidTransition) as refused:
        lead_change_status(lead.id, target, SYSTEM)

    assert str(refused.value) == f"Invalid status transition: {current} -> {target}"
    after = Lead.objects.get(pk=lead.pk)
    assert (after.lead_status, after.updated_at) == (before.lead_status, before.updated_at)
    assert not LeadStatusChange.objects.exists()


def test_it_says_so_when_the_lead_does_not_exist():
    missing = uuid.uuid4()

    with pytest.raises(LeadNotFound):
        lead_change_status(missing, "contacted", SYSTEM)


def test_it_rejects_a_status_that_does_not_exist():
    lead = make_lead(status="new")

    with pytest.raises(ValueError, match="archived"):
        lead_change_status(lead.id, "archived", SYSTEM)

    assert Lead.objects.get(pk=lead.pk).lead_status == "new"


def test_it_refuses_a_move_made_from_a_stale_screen_and_says_who_moved_the_lead():
    lead = make_lead(status="new")
    teammate = Actor(kind="user", label="teammate")
    lead_change_status(lead.id, "contacted", teammate)

    # Our screen still shows "new"; contacted -> qualified would be allowed, but we did not
    # see the lead become contacted, so the move is refused.
    with pytest.raises(StaleStatus) as stale:
        lead_change_status(lead.id, "qualified", SYSTEM, expected_status="new")

    assert (stale.value.current, stale.value.expected) == ("contacted", "new")
    assert stale.value.last_change.actor_label == "teammate"
    assert str(stale.value) == "Invalid status transition: contacted -> qualified"
    assert Lead.objects.get(pk=lead.pk).lead_status == "contacted"
    assert LeadStatusChange.objects.filter(lead=lead).count() == 1


def test_it_moves_a_lead_whose_status_is_the_one_the_screen_showed():
    lead = make_lead(status="contacted")

    lead_change_status(lead.id, "qualified", SYSTEM, expected_status="contacted")

    assert Lead.objects.get(pk=lead.pk).lead_status == "qualified"


# --- Many leads ----------------------------------------------------------------------------


def test_bulk_judges_every_lead_on_its_own_and_reports_each_failure_with_its_reason():
    group = make_group()
    fresh = make_lead(group, status="new")
    called = make_lead(group, status="contacted")
    won = make_lead(group, status="converted")
    gone = make_lead(group, status="lost")
    unknown = uuid.uuid4()

    result = lead_bulk_change_status(
        [fresh.id, called.id, won.id, gone.id, unknown, fresh.id, str(won.id)],
        "qualified",
        SYSTEM,
    )

    assert sorted(result.updated) == sorted([str(fresh.id), str(called.id)])
    failures = {failure.lead_id: failure.detail for failure in result.failed}
    assert failures == {
        str(won.id): "Invalid status transition: converted -> qualified",
        str(gone.id): "Invalid status transition: lost -> qualified",
        str(unknown): "Lead not found",
    }
    assert statuses_of([fresh, called, won, gone]) == [
        "qualified",
        "qualified",
        "converted",
        "lost",
    ]


def test_bulk_writes_one_history_row_per_moved_lead_even_when_ids_repeat():
    group = make_group()
    leads = [make_lead(group, status="new") for _ in range(3)]
    ids = [lead.id for lead in leads] * 3

    result = lead_bulk_change_status(ids, "contacted", Actor(kind="user", label="dana"))

    assert len(result.updated) == 3
    assert result.failed == []
    changes = LeadStatusChange.objects.all()
    assert sorted(str(change.lead_id) for change in changes) == sorted(str(x.id) for x in leads)
    assert {(c.from_status, c.to_status, c.actor_label) for c in changes} == {
        ("new", "contacted", "dana")
    }


def test_bulk_with_only_refused_leads_changes_nothing():
    group = make_group()
    leads = [make_lead(group, status="converted") for _ in range(2)]

    result = lead_bulk_change_status([lead.id for lead in leads], "lost", SYSTEM)

    assert result.updated == []
    assert len(result.failed) == 2
    assert statuses_of(leads) == ["converted", "converted"]
    assert not LeadStatusChange.objects.exists()


def test_bulk_rejects_a_status_that_does_not_exist():
    lead = make_lead(status="new")

    with pytest.raises(ValueError, match="archived"):
        lead_bulk_change_status([lead.id], "archived", SYSTEM)


def _bulk_queries(count: int) -> int:
    group = make_group()
    statuses = ["new", "contacted", "converted"]  # two movable, one refused
    leads = Lead.objects.bulk_create(
        Lead(
            source_group=group,
            contact_jid=f"1555{count:04d}{index:05d}@c.us",
            lead_status=statuses[index % len(statuses)],
        )
        for index in range(count)
    )
    ids = [lead.id for lead in leads] + [uuid.uuid4()]
    with CaptureQueriesContext(connection) as queries:
        result = lead_bulk_change_status(ids, "lost", SYSTEM)
    assert len(result.updated) + len(result.failed) == count + 1
    assert LeadStatusChange.objects.filter(lead__source_group=group).count() == len(result.updated)
    # The test's own transaction makes the service's a savepoint: not a statement of its own.
    return len([q for q in queries if "SAVEPOINT" not in q["sql"]])


def test_bulk_runs_the_same_number_of_sql_statements_for_ten_leads_and_for_three_hundred():
    few = _bulk_queries(10)
    many = _bulk_queries(300)

    assert few == many
    # PostgreSQL: the leads, their history and the statuses in one statement, then the live
    # event. SQLite: read, UPDATE, history INSERT, live event.
    assert many == (2 if connection.vendor == "postgresql" else 4)


# --- History -------------------------------------------------------------------------------


def test_history_is_a_chain_of_allowed_steps_ending_in_the_current_status():
    rng = random.Random(20261125)
    group = make_group()
    leads = [make_lead(group, status="new") for _ in range(8)]
    # `converted` is a dead end: keep it rare so the walk stays long.
    weights = {"new": 3, "contacted": 3, "qualified": 3, "converted": 0.2, "lost": 3}
    moves = 0
    for _ in range(300):
        [target] = rng.choices(ALL_STATUSES, weights=[weights[s] for s in ALL_STATUSES])
        if rng.random() < 0.25:
            chosen = rng.sample(leads, k=rng.randint(1, len(leads)))
            moves += len(lead_bulk_change_status([x.id for x in chosen], target, SYSTEM).updated)
        else:
            try:
                lead_change_status(rng.choice(leads).id, target, SYSTEM)
            except InvalidTransition:
                continue
            moves += 1

    assert moves > 100  # the walk really went somewhere
    assert LeadStatusChange.objects.count() == moves
    for lead in leads:
        steps = [
            (change.from_status, change.to_status)
            for change in LeadStatusChange.objects.filter(lead=lead).order_by("changed_at", "id")
        ]
        status = "new"
        for from_status, to_status in steps:
            assert from_status == status
            assert (from_status, to_status) in ALLOWED_MOVES
            status = to_status
        assert Lead.objects.get(pk=lead.pk).lead_status == status


# --- Custom groups -------------------------------------------------------------------------


def test_adding_leads_to_a_custom_group_skips_phones_already_there_and_leads_without_one():
    custom = CustomGroup.objects.create(name="Hot buyers")
    CustomGroupMember.objects.create(group=custom, phone="+15550000001", name="Already here")
    group, other_group = make_group(), make_group()
    known = make_lead(group, phone="+15550000001", name="Dana")
    fresh = make_lead(group, phone="+15550000002", name="Yossi")
    same_phone_elsewhere = make_lead(other_group, phone="+15550000002", name="Yossi")
    hidden = make_lead(group, phone="", name="Hidden number")

    result = custom_group_add_leads(
        custom, [known.id, fresh.id, same_phone_elsewhere.id, hidden.id, fresh.id]
    )

    assert (result.added, result.skipped) == (1, 3)
    members = dict(custom.members.values_list("phone", "name"))
    assert members == {"+15550000001": "Already here", "+15550000002": "Yossi"}


def test_adding_the_same_leads_twice_adds_nothing_the_second_time():
    custom = CustomGroup.objects.create(name="Follow up")
    group = make_group()
    leads = [make_lead(group) for _ in range(3)]

    first = custom_group_add_leads(custom, [lead.id for lead in leads])
    second = custom_group_add_leads(custom, [lead.id for lead in leads])

    assert (first.added, first.skipped) == (3, 0)
    assert (second.added, second.skipped) == (0, 3)
    assert custom.members.count() == 3
