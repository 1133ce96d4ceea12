"""`GET /leads`, `GET /leads/{id}`, `PATCH /leads/{id}/status`, `GET /leads/{id}/reciprocity`."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import InboundMessage, Lead, LeadStatusChange
from tests.factories import make_group, make_lead, make_session

pytestmark = pytest.mark.django_db

LEADS = "/api/v2/leads"
LEAD_FIELDS = {
    "id",
    "contact_phone",
    "contact_name",
    "lead_status",
    "lead_score",
    "lead_detected_at",
    "source_group",
    "trigger",
}
DETAIL_FIELDS = LEAD_FIELDS | {"message_count", "session_id", "updated_at"}


def names(response) -> list[str]:
    return [lead["contact_name"] for lead in response.json()["leads"]]


def assert_validation_error(response, loc: list) -> None:
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert isinstance(errors, list) and errors
    for error in errors:
        assert {"loc", "msg", "type"} <= set(error)
        assert isinstance(error["msg"], str)
    assert loc in [error["loc"] for error in errors]


# --- List ----------------------------------------------------------------------------------


def test_it_lists_leads_in_the_upstream_shape(api):
    detected = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    lead = make_lead(name="Dana Levi", phone="+15550123456", keyword="price", detected_at=detected)

    response = api.get(LEADS)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"leads", "total", "limit", "offset"}
    assert (body["total"], body["limit"], body["offset"]) == (1, 50, 0)
    [item] = body["leads"]
    assert set(item) == LEAD_FIELDS
    assert item["id"] == str(lead.id)
    assert item["contact_phone"] == "+15550123456"
    assert item["lead_status"] == "new"
    assert item["lead_score"] == 0
    assert item["lead_detected_at"] == "2026-03-01T09:30:00Z"
    assert item["source_group"] == {
        "id": str(lead.source_group_id),
        "name": lead.source_group.name,
    }
    assert item["trigger"] == {
        "matched_keyword": "price",
        "message_preview": "What's the price?",
        "monitor_mode": "keywords",
        "detected_at": "2026-03-01T09:30:00Z",
    }


def test_a_hidden_number_is_null(api):
    make_lead(phone="")

    [item] = api.get(LEADS).json()["leads"]

    assert item["contact_phone"] is None


def test_it_lists_newest_first(api):
    group = make_group()
    now = datetime.now(UTC)
    for name, age in [("middle", 2), ("newest", 1), ("oldest", 3)]:
        make_lead(group, name=name, detected_at=now - timedelta(hours=age))

    assert names(api.get(LEADS)) == ["newest", "middle", "oldest"]


def test_it_filters_by_status(api):
    group = make_group()
    make_lead(group, name="fresh", status="new")
    make_lead(group, name="won", status="converted")

    response = api.get(LEADS, {"status": "converted"})

    assert names(response) == ["won"]
    assert response.json()["total"] == 1


def test_it_filters_by_source_group(api):
    here, there = make_group(), make_group()
    make_lead(here, name="here")
    make_lead(there, name="there")

    response = api.get(LEADS, {"source_group_id": str(here.id)})

    assert names(response) == ["here"]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("dana", ["Dana Levi"]),
        ("DANA LEVI", ["Dana Levi"]),
        ("+1555012", ["Dana Levi"]),
        ("15550123456", ["Dana Levi"]),
        ("PRICE", ["Dana Levi"]),
        ("דנה", ["דנה לוי"]),
        ("מחיר", ["דנה לוי"]),
        ("مرحبا", ["Yossi"]),
        ("1555", ["Dana Levi", "Yossi"]),
        ("nothing like it", []),
    ],
)
def test_search_finds_a_lead_by_name_phone_or_keyword_in_any_case(api, search, expected):
    group = make_group()
    make_lead(group, name="Dana Levi", phone="+15550123456", keyword="Price")
    make_lead(group, name="דנה לוי", phone="+972521234567", keyword="מחיר")
    make_lead(group, name="Yossi", phone="+15559999999", keyword="مرحبا")
    make_lead(group, name="Nobody", phone="+4915112345678", keyword="looking for")

    found = names(api.get(LEADS, {"search": search}))

    assert sorted(found) == sorted(expected)


def test_search_does_not_look_in_the_message_text(api):
    make_lead(name="Dana", keyword="price", preview="I want a penthouse")

    assert api.get(LEADS, {"search": "penthouse"}).json()["total"] == 0


def test_search_treats_sql_wildcards_as_plain_text(api):
    group = make_group()
    make_lead(group, name="100% sure")
    make_lead(group, name="1000 sure")

    assert names(api.get(LEADS, {"search": "100%"})) == ["100% sure"]


def test_filters_combine(api):
    group, other = make_group(), make_group()
    make_lead(group, name="Dana new", status="new")
    make_lead(group, name="Dana won", status="converted")
    make_lead(other, name="Dana elsewhere", status="converted")

    response = api.get(
        LEADS, {"status": "converted", "source_group_id": str(group.id), "search": "dana"}
    )

    assert names(response) == ["Dana won"]


@pytest.mark.parametrize("keys_first_from", [1000, 0, 5])
def test_every_offset_gives_the_same_slice_of_newest_first_from_either_end(
    api, monkeypatch, keys_first_from
):
    # Pages past the middle are read from the oldest end, deep ones from their first lead's
    # keys: each must still be exactly the slice a newest-first walk gives, ties on the time
    # broken by id the same way (three leads share each minute here).
    monkeypatch.setattr("leads.api.leads.KEYS_FIRST_FROM", keys_first_from)
    group = make_group()
    start = datetime(2026, 3, 1, tzinfo=UTC)
    leads = [make_lead(group, detected_at=start + timedelta(minutes=i // 3)) for i in range(21)]
    newest_first = [
        str(lead.id)
        for lead in sorted(leads, key=lambda lead: (lead.lead_detected_at, lead.id), reverse=True)
    ]

    # Around the middle (10.5) and both ends, within the key's rate limit.
    for limit in (1, 4, 50):
        for offset in (0, 1, 8, 9, 10, 11, 12, 17, 20, 21, 22):
            body = api.get(LEADS, {"offset": offset, "limit": limit}).json()
            got = [lead["id"] for lead in body["leads"]]
            assert got == newest_first[offset : offset + limit], (offset, limit)
            assert body["total"] == 21


def test_a_deep_offset_found_by_its_day_gives_the_same_slice_with_any_filter(api, monkeypatch):
    # Unsearched deep pages start from the day their offset falls in (the kept per-day
    # totals), then walk that day's leads: leads on four days, some on either side of UTC
    # midnight, in two groups and three statuses; every page is the newest-first slice.
    monkeypatch.setattr("leads.api.leads.KEYS_FIRST_FROM", 0)
    homes, cars = make_group(), make_group()
    midnight = datetime(2026, 3, 4, tzinfo=UTC)
    moments = [midnight + timedelta(days=-d, seconds=s) for d in range(3) for s in (-1, 0, 1, 7)]
    moments += [midnight - timedelta(days=3, hours=5)] * 3  # a tie on the time, broken by id
    leads = [
        make_lead(
            (homes, cars)[i % 2], status=("new", "lost", "new", "qualified")[i % 4], detected_at=at
        )
        for i, at in enumerate(moments)
    ]

    def oracle(status, group):
        chosen = [
            lead
            for lead in leads
            if status in ("", lead.lead_status) and group in ("", str(lead.source_group_id))
        ]
        newest = sorted(chosen, key=lambda lead: (lead.lead_detected_at, lead.id), reverse=True)
        return [str(lead.id) for lead in newest]

    for status, group in (("", ""), ("new", ""), ("", str(cars.id)), ("new", str(homes.id))):
        expected = oracle(status, group)
        query = {k: v for k, v in {"status": status, "source_group_id": group}.items() if v}
        for offset, limit in ((0, 50), (1, 3), (3, 4), (4, 1), (7, 5), (len(expected) - 1, 2)):
            body = api.get(LEADS, {**query, "offset": offset, "limit": limit}).json()
            got = [lead["id"] for lead in body["leads"]]
            assert got == expected[offset : offset + limit], (status, group, offset, limit)
        assert api.get(LEADS, {**query, "offset": len(expected)}).json()["leads"] == []


def test_total_is_exact_for_every_status_and_group_without_counting_a_lead(api):
    homes, cars = make_group(name="Homes"), make_group(name="Cars")
    for group, status in [(homes, "new"), (homes, "new"), (homes, "lost"), (cars, "new")]:
        make_lead(group, status=status)
    moved = make_lead(cars)
    api.patch(
        f"{LEADS}/{moved.id}/status", {"status": "contacted"}, content_type="application/json"
    )
    Lead.objects.filter(source_group=homes, lead_status="lost").delete()

    with CaptureQueriesContext(connection) as queries:
        totals = {
            (status, group): api.get(
                LEADS, {k: v for k, v in {"status": status, "source_group_id": group}.items() if v}
            ).json()["total"]
            for status in ("", "new", "contacted", "lost")
            for group in ("", str(homes.id), str(cars.id))
        }

    for (status, group), total in totals.items():
        counted = Lead.objects.filter(**({"lead_status": status} if status else {}))
        counted = counted.filter(**({"source_group_id": group} if group else {}))
        assert total == counted.count(), (status, group)
    assert totals[("", "")] == 4 and totals[("new", str(homes.id))] == 2
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert not [sql for sql in counts if '"leads_lead"' in sql], counts
    # A search is counted: the kept totals know nothing of words.
    assert api.get(LEADS, {"search": "nobody-has-this"}).json()["total"] == 0


def test_it_pages_fifty_at_a_time_by_default_and_counts_them_all(api):
    group = make_group()
    for _ in range(55):
        make_lead(group)

    first = api.get(LEADS).json()
    rest = api.get(LEADS, {"offset": 50}).json()

    assert (len(first["leads"]), first["total"], first["limit"]) == (50, 55, 50)
    assert (len(rest["leads"]), rest["total"], rest["offset"]) == (5, 55, 50)
    first_ids = {lead["id"] for lead in first["leads"]}
    assert not first_ids & {lead["id"] for lead in rest["leads"]}


@pytest.mark.parametrize("limit", [1, 100])
def test_it_accepts_a_limit_from_one_to_a_hundred(api, limit):
    group = make_group()
    for _ in range(3):
        make_lead(group)

    body = api.get(LEADS, {"limit": limit}).json()

    assert body["limit"] == limit
    assert len(body["leads"]) == min(limit, 3)


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5"])
def test_it_refuses_a_limit_outside_one_to_a_hundred_with_422(api, limit):
    assert_validation_error(api.get(LEADS, {"limit": limit}), ["query", "limit"])


def test_it_refuses_a_negative_offset_with_422(api):
    assert_validation_error(api.get(LEADS, {"offset": "-1"}), ["query", "offset"])


def test_an_offset_past_the_end_gives_an_empty_page(api):
    make_lead()

    body = api.get(LEADS, {"offset": "99999999999999999999999"}).json()

    assert (body["leads"], body["total"]) == ([], 1)


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"status": "won"}, ["query", "status"]),
        ({"source_group_id": "not-a-uuid"}, ["query", "source_group_id"]),
        ({"search": "x" * 201}, ["query", "search"]),
    ],
)
def test_it_refuses_a_bad_filter_with_422(api, params, loc):
    assert_validation_error(api.get(LEADS, params), loc)


def _list_statements(api, count: int) -> int:
    group = make_group()
    for _ in range(count):
        make_lead(group)
    with CaptureQueriesContext(connection) as queries:
        response = api.get(LEADS, {"limit": 100, "source_group_id": str(group.id)})
    assert len(response.json()["leads"]) == count
    return len(queries)


def test_a_page_of_a_hundred_leads_costs_as_many_sql_statements_as_a_page_of_three(api, settings):
    settings.MIRROR_RATE_LIMITS = False  # its bookkeeping varies with the clock's minute
    api.get(LEADS)  # the first request creates the account row

    assert _list_statements(api, 3) == _list_statements(api, 100) <= 6


# --- Detail --------------------------------------------------------------------------------


def test_the_detail_adds_message_count_session_group_jid_and_updated_at(api):
    lead = make_lead()
    Lead.objects.filter(pk=lead.pk).update(message_count=4)
    group = lead.source_group

    response = api.get(f"{LEADS}/{lead.id}")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == DETAIL_FIELDS
    assert body["message_count"] == 4
    assert body["session_id"] == str(group.session_id)
    assert body["source_group"] == {
        "id": str(group.id),
        "name": group.name,
        "wa_group_id": group.wa_group_id,
    }
    assert body["updated_at"].endswith("Z")


def test_the_detail_of_an_unknown_lead_is_404(api):
    missing = uuid.uuid4()

    response = api.get(f"{LEADS}/{missing}")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Lead {missing} not found."}


def test_the_detail_of_a_malformed_id_is_422(api):
    assert_validation_error(api.get(f"{LEADS}/12345"), ["path", "lead_id"])


# --- Status --------------------------------------------------------------------------------


def test_it_moves_a_lead_and_returns_the_updated_lead(api, api_key):
    lead = make_lead(status="new")

    response = api.patch(f"{LEADS}/{lead.id}/status", {"status": "contacted"}, "application/json")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(lead.id)
    assert body["lead_status"] == "contacted"
    assert set(body) >= LEAD_FIELDS
    lead.refresh_from_db()
    assert lead.lead_status == "contacted"
    [change] = LeadStatusChange.objects.filter(lead=lead)
    assert (change.from_status, change.to_status) == ("new", "contacted")
    assert (change.actor_kind, change.api_key_id) == ("api_key", api_key[0].id)


@pytest.mark.parametrize(
    ("current", "target"),
    [("new", "new"), ("converted", "lost"), ("qualified", "contacted"), ("lost", "qualified")],
)
def test_an_invalid_transition_is_400_and_changes_nothing(api, current, target):
    lead = make_lead(status=current)

    response = api.patch(f"{LEADS}/{lead.id}/status", {"status": target}, "application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": f"Invalid status transition: {current} -> {target}"}
    lead.refresh_from_db()
    assert lead.lead_status == current
    assert not LeadStatusChange.objects.exists()


def test_a_lost_lead_can_be_reopened(api):
    lead = make_lead(status="lost")

    response = api.patch(f"{LEADS}/{lead.id}/status", {"status": "new"}, "application/json")

    assert response.json()["lead_status"] == "new"


def test_moving_an_unknown_lead_is_404(api):
    missing = uuid.uuid4()

    response = api.patch(f"{LEADS}/{missing}/status", {"status": "lost"}, "application/json")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Lead {missing} not found."}


@pytest.mark.parametrize("body", [{"status": "won"}, {"status": None}, {"status": 3}, {}])
def test_an_unknown_or_missing_status_is_422_and_changes_nothing(api, body):
    lead = make_lead(status="new")

    response = api.patch(f"{LEADS}/{lead.id}/status", body, "application/json")

    assert_validation_error(response, ["body", "status"])
    lead.refresh_from_db()
    assert lead.lead_status == "new"


@pytest.mark.parametrize("raw", ['{"status": "lo', "status=lost", "{'status': 'lost'}", "\xff"])
def test_a_body_that_is_not_json_is_400_and_changes_nothing(api, raw):
    lead = make_lead(status="new")

    response = api.patch(f"{LEADS}/{lead.id}/status", raw, "application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": "The request body is not valid JSON."}
    lead.refresh_from_db()
    assert lead.lead_status == "new"
    assert not LeadStatusChange.objects.exists()


@pytest.mark.parametrize("raw", ["[]", '"contacted"', "null", "42", '[{"status": "lost"}]'])
def test_a_body_that_is_not_a_json_object_is_400_and_changes_nothing(api, raw):
    lead = make_lead(status="new")

    response = api.patch(f"{LEADS}/{lead.id}/status", raw, "application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": "The request body must be a JSON object."}
    lead.refresh_from_db()
    assert lead.lead_status == "new"


def test_an_empty_body_is_422_naming_the_missing_body(api):
    lead = make_lead(status="new")

    response = api.patch(f"{LEADS}/{lead.id}/status", "", "application/json")

    assert_validation_error(response, ["body"])


# --- Reciprocity ---------------------------------------------------------------------------


def inbound(session, phone: str | None, jid: str, received_at: datetime) -> InboundMessage:
    return InboundMessage.objects.create(
        session=session,
        wa_message_id=f"msg-{uuid.uuid4()}",
        contact_jid=jid,
        contact_phone=phone,
        body="Hi!",
        received_at=received_at,
    )


def test_reciprocity_needs_a_session_id(api):
    lead = make_lead()

    assert_validation_error(api.get(f"{LEADS}/{lead.id}/reciprocity"), ["query", "session_id"])


def test_a_contact_who_never_wrote_to_us_has_not_messaged_first(api):
    session = make_session()
    lead = make_lead(make_group(session))

    response = api.get(f"{LEADS}/{lead.id}/reciprocity", {"session_id": str(session.id)})

    assert response.status_code == 200
    assert response.json() == {
        "lead_id": str(lead.id),
        "has_messaged_first": False,
        "last_inbound_at": None,
    }


def test_a_contact_who_wrote_to_the_session_directly_has_messaged_first(api):
    session = make_session()
    lead = make_lead(make_group(session), phone="+15550123456")
    early = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    late = datetime(2026, 3, 2, 18, 45, tzinfo=UTC)
    inbound(session, "+15550123456", "15550123456@c.us", late)
    inbound(session, "+15550123456", "15550123456@c.us", early)

    body = api.get(f"{LEADS}/{lead.id}/reciprocity", {"session_id": str(session.id)}).json()

    assert body["has_messaged_first"] is True
    assert body["last_inbound_at"] == "2026-03-02T18:45:00Z"


def test_a_message_to_another_session_or_from_another_contact_does_not_count(api):
    session, other_session = make_session(), make_session()
    lead = make_lead(make_group(session), phone="+15550123456")
    now = datetime.now(UTC)
    inbound(other_session, "+15550123456", "15550123456@c.us", now)
    inbound(session, "+15550000000", "15550000000@c.us", now)

    body = api.get(f"{LEADS}/{lead.id}/reciprocity", {"session_id": str(session.id)}).json()

    assert body["has_messaged_first"] is False


def test_a_contact_with_a_hidden_number_is_matched_by_whatsapp_id(api):
    session = make_session()
    lead = make_lead(make_group(session), phone="")
    inbound(session, None, lead.contact_jid, datetime.now(UTC))

    body = api.get(f"{LEADS}/{lead.id}/reciprocity", {"session_id": str(session.id)}).json()

    assert body["has_messaged_first"] is True


def test_reciprocity_of_an_unknown_lead_or_session_is_404(api):
    lead = make_lead()
    missing = uuid.uuid4()

    unknown_lead = api.get(f"{LEADS}/{missing}/reciprocity", {"session_id": str(missing)})
    unknown_session = api.get(f"{LEADS}/{lead.id}/reciprocity", {"session_id": str(missing)})

    assert unknown_lead.status_code == 404
    assert unknown_lead.json() == {"detail": f"Lead {missing} not found."}
    assert unknown_session.status_code == 404
    assert unknown_session.json() == {"detail": f"Session {missing} not found."}
