"""`POST /leads/bulk/status` and `POST /leads/bulk/add-to-group`."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import CustomGroup, CustomGroupMember, Lead, LeadStatusChange
from leads.totals import reconcile_totals
from tests.factories import make_group, make_lead

pytestmark = pytest.mark.django_db

BULK_STATUS = "/api/v2/leads/bulk/status"
BULK_ADD = "/api/v2/leads/bulk/add-to-group"
TRANSACTION_CONTROL = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT"}


def status_of(lead: Lead) -> str:
    return Lead.objects.get(pk=lead.pk).lead_status


def validation_locs(response) -> list:
    assert response.status_code == 422
    errors = response.json()["detail"]
    for error in errors:
        assert {"loc", "msg", "type"} <= set(error)
    return [error["loc"] for error in errors]


# --- Bulk status ---------------------------------------------------------------------------


def test_it_moves_every_lead_it_may_and_reports_the_rest(api):
    group = make_group()
    fresh = make_lead(group, status="new")
    called = make_lead(group, status="contacted")
    won = make_lead(group, status="converted")
    unknown = uuid.uuid4()

    response = api.post(
        BULK_STATUS,
        {"lead_ids": [str(fresh.id), str(called.id), str(won.id), str(unknown)], "status": "lost"},
        "application/json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["updated"], body["failed"]) == (2, 2)
    assert sorted(body["errors"], key=lambda e: e["detail"]) == [
        {"lead_id": str(won.id), "detail": "Invalid status transition: converted -> lost"},
        {"lead_id": str(unknown), "detail": "Lead not found"},
    ]
    assert [status_of(x) for x in (fresh, called, won)] == ["lost", "lost", "converted"]


def test_it_counts_a_repeated_id_once(api):
    lead = make_lead(status="new")

    response = api.post(
        BULK_STATUS, {"lead_ids": [str(lead.id)] * 5, "status": "contacted"}, "application/json"
    )

    assert response.json() == {"updated": 1, "failed": 0, "errors": []}
    assert LeadStatusChange.objects.filter(lead=lead).count() == 1


def test_a_repeated_refused_id_is_reported_once(api):
    lead = make_lead(status="converted")

    body = api.post(
        BULK_STATUS, {"lead_ids": [str(lead.id)] * 3, "status": "lost"}, "application/json"
    ).json()

    assert (body["updated"], body["failed"], len(body["errors"])) == (0, 1, 1)


def test_bulk_moves_are_recorded_against_the_api_key(api, api_key):
    group = make_group()
    leads = [make_lead(group, status="new") for _ in range(3)]

    api.post(
        BULK_STATUS,
        {"lead_ids": [str(lead.id) for lead in leads], "status": "qualified"},
        "application/json",
    )

    changes = LeadStatusChange.objects.all()
    assert len(changes) == 3
    assert {(c.from_status, c.to_status, c.api_key_id) for c in changes} == {
        ("new", "qualified", api_key[0].id)
    }


def test_it_accepts_a_thousand_ids_in_a_constant_number_of_statements(api):
    group = make_group()
    leads = Lead.objects.bulk_create(
        Lead(source_group=group, contact_jid=f"1555{index:07d}@c.us") for index in range(1000)
    )

    with CaptureQueriesContext(connection) as queries:
        response = api.post(
            BULK_STATUS,
            {"lead_ids": [str(lead.id) for lead in leads], "status": "contacted"},
            "application/json",
        )

    assert response.json() == {"updated": 1000, "failed": 0, "errors": []}
    # Constant: the reads, one UPDATE, one history INSERT, one live-event INSERT, and the
    # key's auth and rate-limit bookkeeping.
    assert len(queries) < 21
    assert Lead.objects.filter(source_group=group, lead_status="contacted").count() == 1000


@pytest.mark.django_db(transaction=True)  # no test transaction: savepoints are not counted
def test_a_thousand_leads_move_in_five_statements_with_the_key_check_and_rate_limit(api):
    group = make_group()
    fresh = Lead.objects.bulk_create(
        Lead(source_group=group, contact_jid=f"1555{index:07d}@c.us") for index in range(990)
    )
    won = Lead.objects.bulk_create(
        Lead(source_group=group, contact_jid=f"1666{index:07d}@c.us", lead_status="converted")
        for index in range(5)
    )
    unknown = [uuid.uuid4() for _ in range(5)]
    ids = [str(lead_id) for lead_id in [*(lead.id for lead in [*fresh, *won]), *unknown]]
    api.get("/api/v2/leads?limit=1")  # this minute's rate-limit window is open already

    with CaptureQueriesContext(connection) as queries:
        response = api.post(BULK_STATUS, {"lead_ids": ids, "status": "lost"}, "application/json")

    # The request's own statements; the BEGIN and COMMIT of its one transaction aside.
    statements = [q["sql"] for q in queries if q["sql"] not in TRANSACTION_CONTROL]
    assert len(statements) <= 5, "\n".join(sql[:150] for sql in statements)
    body = response.json()
    assert (body["updated"], body["failed"]) == (990, 10)
    assert {error["lead_id"]: error["detail"] for error in body["errors"]} == {
        **{str(lead.id): "Invalid status transition: converted -> lost" for lead in won},
        **{str(lead_id): "Lead not found" for lead_id in unknown},
    }
    assert response["X-RateLimit-Remaining"] == str(int(response["X-RateLimit-Limit"]) - 2)
    assert LeadStatusChange.objects.filter(to_status="lost", actor_kind="api_key").count() == 990
    assert reconcile_totals() == {}


@pytest.mark.parametrize("count", [0, 1001])
def test_it_refuses_zero_or_more_than_a_thousand_ids_with_422(api, count):
    ids = [str(uuid.uuid4()) for _ in range(count)]

    response = api.post(BULK_STATUS, {"lead_ids": ids, "status": "lost"}, "application/json")

    assert ["body", "lead_ids"] in validation_locs(response)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"lead_ids": ["not-a-uuid"], "status": "lost"}, ["body", "lead_ids", 0]),
        ({"lead_ids": [str(uuid.uuid4())], "status": "won"}, ["body", "status"]),
        ({"lead_ids": [str(uuid.uuid4())]}, ["body", "status"]),
        ({"status": "lost"}, ["body", "lead_ids"]),
        ({"lead_ids": "all", "status": "lost"}, ["body", "lead_ids"]),
    ],
)
def test_it_refuses_a_malformed_bulk_request_with_422_and_changes_nothing(api, body, loc):
    lead = make_lead(status="new")

    response = api.post(BULK_STATUS, body, "application/json")

    assert loc in validation_locs(response)
    assert status_of(lead) == "new"


# --- Bulk add to a custom group ------------------------------------------------------------


def test_it_adds_the_leads_phones_and_skips_those_already_in_the_group(api):
    custom = CustomGroup.objects.create(name="Hot buyers")
    CustomGroupMember.objects.create(group=custom, phone="+15550000001")
    group = make_group()
    known = make_lead(group, phone="+15550000001")
    fresh = make_lead(group, phone="+15550000002", name="Yossi")
    hidden = make_lead(group, phone="")

    response = api.post(
        BULK_ADD,
        {
            "lead_ids": [str(known.id), str(fresh.id), str(hidden.id)],
            "custom_group_id": str(custom.id),
        },
        "application/json",
    )

    assert response.status_code == 200
    assert response.json() == {"added": 1, "skipped": 2}
    assert dict(custom.members.values_list("phone", "name")) == {
        "+15550000001": "",
        "+15550000002": "Yossi",
    }


def test_adding_to_an_unknown_custom_group_is_404(api):
    lead = make_lead()
    missing = uuid.uuid4()

    response = api.post(
        BULK_ADD, {"lead_ids": [str(lead.id)], "custom_group_id": str(missing)}, "application/json"
    )

    assert response.status_code == 404
    assert response.json() == {"detail": f"Custom group {missing} not found."}


@pytest.mark.parametrize("count", [0, 1001])
def test_adding_zero_or_more_than_a_thousand_leads_is_422(api, count):
    custom = CustomGroup.objects.create(name="Hot buyers")
    ids = [str(uuid.uuid4()) for _ in range(count)]

    response = api.post(
        BULK_ADD, {"lead_ids": ids, "custom_group_id": str(custom.id)}, "application/json"
    )

    assert ["body", "lead_ids"] in validation_locs(response)
    assert not custom.members.exists()
