"""The mirror API's door: keys, scopes, plan gates and per-key rate limits (CONTRACT §1)."""

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from leads.api.auth import key_counting_request
from leads.models import ApiKey, ApiKeyUsage
from tests.factories import make_api_key, make_lead, set_plan

pytestmark = pytest.mark.django_db

LEADS = "/api/v2/leads"


# Rate limits count per clock minute: the rate-limit tests set the clock (20 s into a minute,
# stopped) instead of waiting out a window's last seconds, so a burst never straddles two.
TWENTY_SECONDS_IN = datetime(2026, 12, 1, 9, 30, 20, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(TWENTY_SECONDS_IN, tick=False) as traveller:
        yield traveller


# --- Keys ----------------------------------------------------------------------------------


def test_it_accepts_the_key_as_x_api_key():
    _, raw_key = make_api_key()

    response = Client(headers={"X-API-Key": raw_key}).get(LEADS)

    assert response.status_code == 200


def test_it_accepts_the_key_as_a_bearer_token():
    _, raw_key = make_api_key()

    response = Client(headers={"Authorization": f"Bearer {raw_key}"}).get(LEADS)

    assert response.status_code == 200


def test_issued_keys_look_like_upstream_keys_and_only_their_hash_is_stored():
    key, raw_key = make_api_key()

    assert raw_key.startswith("mf_") and len(raw_key) == 43
    assert key.prefix == raw_key[:7]
    stored = ApiKey.objects.filter(pk=key.pk).values().get()
    assert raw_key not in [str(value) for value in stored.values()]
    assert stored["key_hash"] == hashlib.sha256(raw_key.encode()).hexdigest()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer "}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"X-API-Key": ""}],
)
def test_it_refuses_a_request_without_a_key(db, headers):
    response = Client(headers=headers).get(LEADS)

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Missing API key: send it as X-API-Key or Authorization: Bearer."
    }


def test_it_refuses_a_key_it_never_issued():
    response = Client(headers={"X-API-Key": "mf_" + "x" * 40}).get(LEADS)

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid API key."}


def test_it_refuses_a_revoked_key():
    key, raw_key = make_api_key()
    key.revoked_at = timezone.now()
    key.save()

    response = Client(headers={"X-API-Key": raw_key}).get(LEADS)

    assert response.status_code == 401
    assert response.json() == {"detail": "This API key has been revoked."}


def test_it_refuses_an_expired_key():
    _, raw_key = make_api_key(expires_at=timezone.now() - timedelta(seconds=1))

    response = Client(headers={"X-API-Key": raw_key}).get(LEADS)

    assert response.status_code == 401
    assert response.json() == {"detail": "This API key has expired."}


def test_it_accepts_a_key_that_has_not_expired_yet():
    _, raw_key = make_api_key(expires_at=timezone.now() + timedelta(days=1))

    assert Client(headers={"X-API-Key": raw_key}).get(LEADS).status_code == 200


def test_a_refused_key_changes_nothing():
    _, raw_key = make_api_key(["leads:read"])
    lead = make_lead(status="new")

    response = Client(headers={"X-API-Key": raw_key}).patch(
        f"{LEADS}/{lead.id}/status", {"status": "contacted"}, "application/json"
    )

    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.lead_status == "new"


# --- Scopes --------------------------------------------------------------------------------


# Every route of the API and the scope CONTRACT §1 gives it, written out by hand ({id}: any
# UUID; the key is checked before the path's values are).
ROUTE_SCOPES = [
    ("get", "/api/v2/leads", "leads:read"),
    ("get", "/api/v2/leads/export/csv", "leads:read"),
    ("get", "/api/v2/leads/export/json", "leads:read"),
    ("post", "/api/v2/leads/bulk/status", "leads:manage"),
    ("post", "/api/v2/leads/bulk/add-to-group", "leads:manage"),
    ("get", "/api/v2/leads/{id}", "leads:read"),
    ("patch", "/api/v2/leads/{id}/status", "leads:manage"),
    ("get", "/api/v2/leads/{id}/reciprocity", "leads:read"),
    ("get", "/api/v2/sessions", "sessions:read"),
    ("post", "/api/v2/sessions", "sessions:manage"),
    ("get", "/api/v2/groups", "groups:read"),
    ("post", "/api/v2/groups", "groups:manage"),
    ("get", "/api/v2/groups/{id}", "groups:read"),
    ("patch", "/api/v2/groups/{id}", "groups:manage"),
    ("get", "/api/v2/custom-groups", "custom-groups:read"),
    ("post", "/api/v2/custom-groups", "custom-groups:manage"),
    ("get", "/api/v2/custom-groups/{id}", "custom-groups:read"),
    ("patch", "/api/v2/custom-groups/{id}", "custom-groups:manage"),
    ("delete", "/api/v2/custom-groups/{id}", "custom-groups:manage"),
    ("delete", "/api/v2/custom-groups/{id}/members/{id}", "custom-groups:manage"),
]


def test_the_scope_table_lists_every_route_the_api_serves():
    from leads.api import api

    served = {
        (method, re.sub(r"\{[^}]+\}", "{id}", path))
        for path, operations in api.get_openapi_schema()["paths"].items()
        for method in operations
    }

    assert served == {(method, path) for method, path, _ in ROUTE_SCOPES}


@pytest.mark.parametrize(("method", "path", "scope"), ROUTE_SCOPES)
def test_a_key_without_the_scope_gets_403_naming_the_scope_it_needs(method, path, scope):
    lead = make_lead()
    unrelated = "sessions:manage" if not scope.startswith("sessions") else "leads:manage"
    _, raw_key = make_api_key([unrelated])

    response = getattr(Client(headers={"X-API-Key": raw_key}), method)(
        path.format(id=lead.id), {}, content_type="application/json"
    )

    assert response.status_code == 403
    assert response["X-Required-Scopes"] == scope
    assert response.json() == {"detail": f"This API key lacks the {scope} scope."}


def test_a_403_for_a_missing_scope_carries_the_rate_limit_headers(clock):
    _, raw_key = make_api_key(["leads:read"])
    lead = make_lead()
    client = Client(headers={"X-API-Key": raw_key})
    client.get(LEADS)

    response = client.patch(f"{LEADS}/{lead.id}/status", {"status": "lost"}, "application/json")

    assert response.status_code == 403
    assert response["X-RateLimit-Limit"] == "60"
    # The refused request counts against the key's budget, like any other.
    assert response["X-RateLimit-Remaining"] == "58"
    assert 1 <= int(response["X-RateLimit-Reset"]) <= 60


def test_a_read_only_key_cannot_change_a_status():
    _, raw_key = make_api_key(["leads:read"])
    lead = make_lead()

    response = Client(headers={"X-API-Key": raw_key}).patch(
        f"{LEADS}/{lead.id}/status", {"status": "lost"}, "application/json"
    )

    assert response.status_code == 403
    assert response["X-Required-Scopes"] == "leads:manage"


@pytest.mark.parametrize(
    ("scope", "path"),
    [
        ("leads:manage", "/api/v2/leads"),
        ("groups:manage", "/api/v2/groups"),
        ("custom-groups:manage", "/api/v2/custom-groups"),
        ("sessions:manage", "/api/v2/sessions"),
    ],
)
def test_manage_implies_read(scope, path):
    _, raw_key = make_api_key([scope])

    assert Client(headers={"X-API-Key": raw_key}).get(path).status_code == 200


def test_manage_of_one_resource_does_not_imply_read_of_another():
    _, raw_key = make_api_key(["groups:manage"])

    response = Client(headers={"X-API-Key": raw_key}).get(LEADS)

    assert response.status_code == 403
    assert response["X-Required-Scopes"] == "leads:read"


# --- Plans ---------------------------------------------------------------------------------


def _gated_requests(client: Client) -> dict[str, object]:
    lead = make_lead()
    custom = client.post("/api/v2/custom-groups", {"name": "Hot buyers"}, "application/json")
    custom_id = custom.json()["id"]
    return {
        "bulk status": client.post(
            f"{LEADS}/bulk/status",
            {"lead_ids": [str(lead.id)], "status": "lost"},
            "application/json",
        ),
        "bulk add": client.post(
            f"{LEADS}/bulk/add-to-group",
            {"lead_ids": [str(lead.id)], "custom_group_id": custom_id},
            "application/json",
        ),
        "csv": client.get(f"{LEADS}/export/csv"),
        "json": client.get(f"{LEADS}/export/json"),
    }


@pytest.mark.parametrize(("plan", "label"), [("free", "Free"), ("starter", "Starter")])
def test_bulk_and_exports_need_the_pro_plan(api, plan, label):
    set_plan(plan)

    responses = _gated_requests(api)

    for what, response in responses.items():
        assert response.status_code == 403, what
        detail = response.json()["detail"]
        assert "requires the Pro plan or above" in detail, what
        assert f"{label} plan" in detail


@pytest.mark.parametrize("plan", ["pro", "business"])
def test_bulk_and_exports_work_on_pro_and_business(api, plan):
    set_plan(plan)

    responses = _gated_requests(api)

    assert {what: r.status_code for what, r in responses.items()} == dict.fromkeys(responses, 200)


def test_a_refused_bulk_move_on_a_small_plan_changes_nothing(api):
    set_plan("starter")
    lead = make_lead(status="new")

    api.post(
        f"{LEADS}/bulk/status", {"lead_ids": [str(lead.id)], "status": "lost"}, "application/json"
    )

    lead.refresh_from_db()
    assert lead.lead_status == "new"


@pytest.mark.parametrize("plan", ["free", "starter"])
def test_list_detail_and_single_status_update_work_on_every_plan(api, plan):
    set_plan(plan)
    lead = make_lead(status="new")

    assert api.get(LEADS).status_code == 200
    assert api.get(f"{LEADS}/{lead.id}").status_code == 200
    response = api.patch(f"{LEADS}/{lead.id}/status", {"status": "contacted"}, "application/json")
    assert response.status_code == 200


# --- Rate limits ---------------------------------------------------------------------------


def test_every_response_carries_the_rate_limit_headers(api, clock):
    first = api.get(LEADS)
    second = api.get(f"{LEADS}/00000000-0000-0000-0000-000000000000")

    assert first["X-RateLimit-Limit"] == "60"  # a fresh mirror runs on Business
    assert first["X-RateLimit-Remaining"] == "59"
    assert first["X-RateLimit-Reset"] == "40"  # seconds left in the minute
    assert second.status_code == 404
    assert second["X-RateLimit-Remaining"] == "58"


@pytest.mark.parametrize(("plan", "limit"), [("free", 10), ("starter", 20)])
def test_the_request_after_the_plans_limit_gets_429_with_retry_after(api, plan, limit, clock):
    set_plan(plan)

    allowed = [api.get(LEADS) for _ in range(limit)]
    refused = api.get(LEADS)

    assert [r.status_code for r in allowed] == [200] * limit
    assert allowed[-1]["X-RateLimit-Remaining"] == "0"
    assert refused.status_code == 429
    assert refused["Retry-After"] == "40"
    assert refused["X-RateLimit-Limit"] == str(limit)
    assert refused["X-RateLimit-Remaining"] == "0"
    assert f"{limit} requests per minute" in refused.json()["detail"]


def test_a_rate_limited_request_changes_nothing(api, clock):
    set_plan("free")
    lead = make_lead(status="new")
    for _ in range(10):
        api.get(LEADS)

    response = api.patch(f"{LEADS}/{lead.id}/status", {"status": "lost"}, "application/json")

    assert response.status_code == 429
    lead.refresh_from_db()
    assert lead.lead_status == "new"


def test_each_key_has_its_own_allowance(api, clock):
    set_plan("free")
    for _ in range(11):
        api.get(LEADS)
    _, other_key = make_api_key()

    response = Client(headers={"X-API-Key": other_key}).get(LEADS)

    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == "9"


def test_the_next_minute_starts_a_fresh_allowance(api, clock):
    set_plan("free")
    for _ in range(10):
        api.get(LEADS)
    assert api.get(LEADS).status_code == 429

    clock.move_to(TWENTY_SECONDS_IN.replace(second=59, microsecond=999_000))
    assert api.get(LEADS).status_code == 429  # still the same minute
    clock.move_to(TWENTY_SECONDS_IN.replace(minute=31, second=0))
    fresh = api.get(LEADS)

    assert fresh.status_code == 200
    assert fresh["X-RateLimit-Remaining"] == "9"
    assert fresh["X-RateLimit-Reset"] == "60"


def test_rate_limits_can_be_switched_off_for_a_trusted_deployment(api, settings):
    settings.MIRROR_RATE_LIMITS = False
    set_plan("free")

    responses = [api.get(LEADS) for _ in range(15)]

    assert [r.status_code for r in responses] == [200] * 15
    assert "X-RateLimit-Limit" not in responses[-1]


def test_a_new_minute_starts_the_count_again_in_the_keys_one_usage_row(api_key):
    key, raw_key = api_key
    start = datetime(2026, 12, 1, 10, 0, 5, tzinfo=UTC)

    counts = [
        key_counting_request(raw_key, start + timedelta(seconds=seconds)).window_count
        for seconds in (0, 30, 54, 60, 61)
    ]

    assert counts == [1, 2, 3, 1, 2]
    assert ApiKeyUsage.objects.filter(api_key=key).count() == 1  # no old windows pile up
    assert ApiKey.objects.get(pk=key.pk).last_used_at == start + timedelta(seconds=61)
    assert key_counting_request("mf_" + "x" * 40, start) is None


def test_the_keys_page_says_when_a_key_was_last_used(api, api_key, client, django_user_model):
    api.get("/api/v2/leads")
    admin = django_user_model.objects.create_superuser("boss", password="pw")
    client.force_login(admin)

    page = client.get("/settings/api-keys/").content.decode()

    assert re.search(r">\d+ s ago</time>", page) and '<span class="muted">never</span>' not in page
