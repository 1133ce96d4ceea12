"""`/sessions`, `/groups` and `/custom-groups` of the mirror API."""

import uuid

import pytest

from leads.models import CustomGroup, MonitoredGroup, Session
from tests.factories import make_group, make_session, set_plan

pytestmark = pytest.mark.django_db

SESSIONS = "/api/v2/sessions"
GROUPS = "/api/v2/groups"
CUSTOM_GROUPS = "/api/v2/custom-groups"


def validation_locs(response) -> list:
    assert response.status_code == 422
    errors = response.json()["detail"]
    for error in errors:
        assert {"loc", "msg", "type"} <= set(error)
    return [error["loc"] for error in errors]


def group_body(session: Session, **overrides: object) -> dict[str, object]:
    return {
        "session_id": str(session.id),
        "wa_group_id": f"1203630{uuid.uuid4().int % 10**8:08d}@g.us",
        "name": "Real Estate IL",
        **overrides,
    }


# --- Sessions ------------------------------------------------------------------------------


def test_it_lists_sessions_as_a_bare_array(api):
    session = make_session("sales")

    response = api.get(SESSIONS)

    assert response.status_code == 200
    [item] = response.json()
    assert set(item) == {"id", "name", "status", "phone_number", "created_at"}
    assert (item["id"], item["name"], item["status"]) == (str(session.id), "sales", "WORKING")


def test_it_creates_a_session(api):
    response = api.post(SESSIONS, {"name": "support"}, "application/json")

    assert response.status_code == 201
    assert response.json()["name"] == "support"
    assert response.json()["status"] == "STOPPED"
    assert Session.objects.filter(name="support").exists()


def test_a_second_session_with_the_same_name_is_400(api):
    make_session("sales")

    response = api.post(SESSIONS, {"name": "sales"}, "application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": "A session named 'sales' already exists."}


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "   "}, {"name": "x" * 101}])
def test_a_session_needs_a_name_of_at_most_a_hundred_characters(api, body):
    assert ["body", "name"] in validation_locs(api.post(SESSIONS, body, "application/json"))
    assert not Session.objects.exists()


# --- Monitored groups ----------------------------------------------------------------------


def test_it_creates_a_monitored_group(api):
    session = make_session()

    response = api.post(
        GROUPS,
        group_body(
            session,
            wa_group_id="120363012345678901@g.us",
            monitor_mode="first_message",
            monitor_keywords=["Price", "  looking   for ", "price", ""],
            is_active=False,
        ),
        "application/json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["session_id"] == str(session.id)
    assert body["wa_group_id"] == "120363012345678901@g.us"
    assert body["monitor_mode"] == "first_message"
    assert body["monitor_keywords"] == ["Price", "looking for"]
    assert body["is_active"] is False
    assert MonitoredGroup.objects.get(pk=body["id"]).name == "Real Estate IL"


def test_a_new_group_watches_keywords_and_is_active_by_default(api):
    body = api.post(GROUPS, group_body(make_session()), "application/json").json()

    assert (body["monitor_mode"], body["monitor_keywords"], body["is_active"]) == (
        "keywords",
        [],
        True,
    )


def test_it_lists_groups_with_a_total(api):
    session = make_session()
    make_group(session, name="B group")
    make_group(session, name="A group")

    response = api.get(GROUPS)

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    assert [group["name"] for group in body["items"]] == ["A group", "B group"]


def test_it_shows_one_group_and_404s_an_unknown_one(api):
    group = make_group()
    missing = uuid.uuid4()

    assert api.get(f"{GROUPS}/{group.id}").json()["name"] == group.name
    response = api.get(f"{GROUPS}/{missing}")
    assert response.status_code == 404
    assert response.json() == {"detail": f"Group {missing} not found."}


@pytest.mark.parametrize(
    "wa_group_id", ["12036301234@c.us", "12036301234", "12036301234@g.us.evil", "@g.us", "a b@g.us"]
)
def test_a_group_id_must_end_with_g_us(api, wa_group_id):
    body = group_body(make_session(), wa_group_id=wa_group_id)

    response = api.post(GROUPS, body, "application/json")

    assert ["body", "wa_group_id"] in validation_locs(response)
    assert not MonitoredGroup.objects.exists()


def test_an_unknown_monitor_mode_is_422(api):
    response = api.post(GROUPS, group_body(make_session(), monitor_mode="some"), "application/json")

    assert ["body", "monitor_mode"] in validation_locs(response)


def test_a_group_on_an_unknown_session_is_404(api):
    missing = uuid.uuid4()

    response = api.post(
        GROUPS, group_body(make_session(), session_id=str(missing)), "application/json"
    )

    assert response.status_code == 404
    assert response.json() == {"detail": f"Session {missing} not found."}


def test_monitoring_the_same_group_twice_on_a_session_is_400(api):
    session = make_session()
    body = group_body(session)
    api.post(GROUPS, body, "application/json")

    response = api.post(GROUPS, body, "application/json")

    assert response.status_code == 400
    assert "already monitored" in response.json()["detail"]
    assert MonitoredGroup.objects.count() == 1


@pytest.mark.parametrize(("plan", "allowed"), [("free", 2), ("starter", 5)])
def test_the_plan_caps_the_number_of_monitored_groups(api, plan, allowed):
    set_plan(plan)
    session = make_session()
    for _ in range(allowed):
        make_group(session)

    response = api.post(GROUPS, group_body(session), "application/json")

    assert response.status_code == 403
    assert response.json()["detail"].startswith(f"The {plan.capitalize()} plan allows {allowed}")
    assert MonitoredGroup.objects.count() == allowed


@pytest.mark.parametrize("not_a_boolean", ["off", "yes", 0, 1, "t", "false", None])
def test_is_active_takes_only_a_json_boolean_when_a_group_is_created(api, not_a_boolean):
    body = group_body(make_session(), is_active=not_a_boolean)

    response = api.post(GROUPS, body, "application/json")

    assert validation_locs(response) == [["body", "is_active"]]
    assert MonitoredGroup.objects.count() == 0


@pytest.mark.parametrize("not_a_boolean", ["off", "yes", 0, "t"])
def test_is_active_takes_only_a_json_boolean_when_a_group_is_changed(api, not_a_boolean):
    group = make_group()

    response = api.patch(f"{GROUPS}/{group.id}", {"is_active": not_a_boolean}, "application/json")

    # (A field that may be left out is a union: pydantic names the member after the field.)
    assert {tuple(loc[:2]) for loc in validation_locs(response)} == {("body", "is_active")}
    group.refresh_from_db()
    assert group.is_active is True


def test_it_updates_only_the_fields_sent(api):
    group = make_group(name="Old name", keywords=["price"])

    response = api.patch(
        f"{GROUPS}/{group.id}",
        {"name": "New name", "monitor_keywords": ["מחיר", "Price", "PRICE"], "is_active": False},
        "application/json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["monitor_keywords"], body["is_active"]) == (
        "New name",
        ["מחיר", "Price"],
        False,
    )
    group.refresh_from_db()
    assert (group.name, group.monitor_mode, group.wa_group_id) == (
        "New name",
        "keywords",
        group.wa_group_id,
    )


def test_it_moves_a_group_to_another_session(api):
    group = make_group()
    other = make_session()

    response = api.patch(f"{GROUPS}/{group.id}", {"session_id": str(other.id)}, "application/json")

    assert response.json()["session_id"] == str(other.id)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": None}, 422),
        ({"wa_group_id": "123@c.us"}, 422),
        ({"monitor_mode": "sometimes"}, 422),
        ({"session_id": str(uuid.UUID(int=1))}, 404),
    ],
)
def test_a_bad_update_is_refused_and_changes_nothing(api, body, status):
    group = make_group(name="Keep me")

    response = api.patch(f"{GROUPS}/{group.id}", body, "application/json")

    assert response.status_code == status
    assert "detail" in response.json()
    group.refresh_from_db()
    assert group.name == "Keep me"


def test_updating_an_unknown_group_is_404(api):
    missing = uuid.uuid4()

    response = api.patch(f"{GROUPS}/{missing}", {"name": "x"}, "application/json")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Group {missing} not found."}


def test_updating_a_group_into_a_duplicate_is_400(api):
    session = make_session()
    first, second = make_group(session), make_group(session)

    response = api.patch(
        f"{GROUPS}/{second.id}", {"wa_group_id": first.wa_group_id}, "application/json"
    )

    assert response.status_code == 400
    assert "already monitored" in response.json()["detail"]


# --- Custom groups -------------------------------------------------------------------------


def test_it_creates_a_custom_group_with_members(api):
    response = api.post(
        CUSTOM_GROUPS,
        {
            "name": "Hot buyers",
            "members": [
                {"phone": "+972 52-123-4567", "name": "דנה"},
                {"phone": "+972521234567", "name": "Dana again"},
                {"phone": "+1 555 012 3456"},
            ],
        },
        "application/json",
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "member_count", "created_at"}
    assert (body["name"], body["member_count"]) == ("Hot buyers", 2)
    group = CustomGroup.objects.get(pk=body["id"])
    assert dict(group.members.values_list("phone", "name")) == {
        "+972521234567": "דנה",
        "+15550123456": "",
    }


def test_a_custom_group_can_start_empty(api):
    body = api.post(CUSTOM_GROUPS, {"name": "Later"}, "application/json").json()

    assert body["member_count"] == 0


def test_it_lists_custom_groups_with_their_member_counts(api):
    api.post(
        CUSTOM_GROUPS, {"name": "B", "members": [{"phone": "+15550000001"}]}, "application/json"
    )
    api.post(CUSTOM_GROUPS, {"name": "A"}, "application/json")

    response = api.get(CUSTOM_GROUPS)

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    assert [(g["name"], g["member_count"]) for g in body["items"]] == [("A", 0), ("B", 1)]


def test_it_shows_a_custom_group_with_its_members(api):
    created = api.post(
        CUSTOM_GROUPS,
        {
            "name": "Hot",
            "members": [{"phone": "+15550000001", "name": "Dana"}, {"phone": "+15550000002"}],
        },
        "application/json",
    ).json()

    response = api.get(f"{CUSTOM_GROUPS}/{created['id']}")

    assert response.status_code == 200
    body = response.json()
    assert body["member_count"] == 2
    assert body["members"] == [
        {"phone": "+15550000001", "name": "Dana"},
        {"phone": "+15550000002", "name": None},
    ]


def test_an_unknown_custom_group_is_404(api):
    missing = uuid.uuid4()

    response = api.get(f"{CUSTOM_GROUPS}/{missing}")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Custom group {missing} not found."}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "name"]),
        ({"name": ""}, ["body", "name"]),
        ({"name": "x" * 201}, ["body", "name"]),
        ({"name": "x", "members": [{"name": "no phone"}]}, ["body", "members", 0, "phone"]),
        ({"name": "x", "members": "+15550000001"}, ["body", "members"]),
    ],
)
def test_a_malformed_custom_group_is_422(api, body, loc):
    assert loc in validation_locs(api.post(CUSTOM_GROUPS, body, "application/json"))
    assert not CustomGroup.objects.exists()


@pytest.mark.parametrize(("plan", "allowed"), [("free", 2), ("starter", 5)])
def test_the_plan_caps_the_number_of_custom_groups(api, plan, allowed):
    set_plan(plan)
    for index in range(allowed):
        CustomGroup.objects.create(name=f"List {index}")

    response = api.post(CUSTOM_GROUPS, {"name": "One too many"}, "application/json")

    assert response.status_code == 403
    assert response.json()["detail"].startswith(f"The {plan.capitalize()} plan allows {allowed}")
    assert CustomGroup.objects.count() == allowed
