"""CSRF on every state-changing endpoint, found by walking the URL resolver.

A manager's browser can be made to POST anywhere by another site; only the CSRF token stops
that. So every dashboard route refuses a POST without the token (403, nothing changed), for
plain form posts and htmx posts alike. The two webhooks and the mirror API at /api/v2 are
exempt by design: they are called by machines that sign the body (HMAC) or send an API key,
never by a browser session — which the tests here also pin down.

Who may use each endpoint is `tests/test_roles.py`; the last test here makes sure every route
that accepts a POST is in its table, so a new form cannot slip past the role checks.
"""

import json
import uuid
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from leads.models import (
    ApiKey,
    CustomGroup,
    Lead,
    LeadStatusChange,
    MessageTemplate,
    MonitoredGroup,
    SeenGroup,
    WallLink,
)
from leads.roles import MANAGER, set_user_role
from tests.factories import (
    make_api_key,
    make_group,
    make_import_job,
    make_lead,
    make_session,
    make_set_aside,
)
from tests.test_roles import ENDPOINTS

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Target": "leads", "HX-Current-URL": "http://testserver/leads/"}
# Machine-to-machine: authenticated by a signature or an API key, never by a session cookie.
CSRF_EXEMPT = {"webhook-waha", "webhook-moltflow"}
# Routes that take a POST but are not in test_roles' table, with the reason.
POST_OUTSIDE_ROLES = {
    "login": "signing in is for people without a role yet",
    "logout": "anyone signed in may sign out",
    **{name: "a webhook, signed rather than signed in" for name in CSRF_EXEMPT},
}


def manager(*, enforce_csrf: bool = True) -> Client:
    user = User.objects.create_user(f"mona-{uuid.uuid4().hex[:6]}", password="pw")
    set_user_role(user, MANAGER)
    client = Client(enforce_csrf_checks=enforce_csrf)
    client.force_login(user)
    return client


def leads_routes() -> list[URLPattern]:
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace == "leads":
            return [p for p in entry.url_patterns if isinstance(p, URLPattern)]
    raise AssertionError("the leads URLs are not mounted")


ROUTE_NAMES = [pattern.name for pattern in leads_routes()]


def world() -> dict[str, Any]:
    """One of everything a route can name, so each URL resolves to a real object."""
    lead = make_lead()
    session = make_session()
    seen = SeenGroup.objects.create(
        session=session, wa_group_id="120363888888888888@g.us", name="Seen"
    )
    target = User.objects.create_user("target", password="pw")
    return {
        "lead_id": lead.id,
        "group_id": make_group(session).pk,
        "custom_group_id": CustomGroup.objects.create(name="Kept").pk,
        "seen_id": seen.pk,
        "user_id": target.pk,
        "key_id": make_api_key()[0].pk,
        "link_id": WallLink.issue("TV")[0].pk,
        "token": WallLink.issue("Lobby")[1],
        "fmt": "csv",
        "item_id": make_set_aside().pk,
        "template_id": MessageTemplate.objects.create(name="Kept", body="Hi").pk,
        "job_id": make_import_job().pk,
    }


def url_of(pattern: URLPattern, objects: dict[str, Any]) -> str:
    kwargs = {name: objects[name] for name in pattern.pattern.converters}
    return reverse(f"leads:{pattern.name}", kwargs=kwargs)


def fingerprint() -> dict[str, Any]:
    """Everything a refused POST could have changed: row counts of every table, and states."""
    counts = {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in {"leads", "auth"} and model._meta.label != "leads.ApiKeyUsage"
    }
    return {
        **counts,
        "statuses": sorted(Lead.objects.values_list("id", "lead_status")),
        "groups": sorted(MonitoredGroup.objects.values_list("id", "monitor_mode", "is_active")),
        "revoked keys": ApiKey.objects.filter(revoked_at__isnull=False).count(),
        "revoked links": WallLink.objects.filter(revoked_at__isnull=False).count(),
        "users": sorted(User.objects.values_list("username", "is_active")),
    }


def form_data(name: str) -> dict[str, Any]:
    """A complete, valid form for the route (so only the missing token can refuse it)."""
    lead = Lead.objects.first()
    group = MonitoredGroup.objects.first()
    return {
        "change-status": {"status": "contacted", "expected_status": "new"},
        "bulk": {"action": "status", "status": "lost", "lead": [str(lead.id)] if lead else []},
        "groups": {
            "session": str(make_session().pk),
            "wa_group_id": "120363012345678901@g.us",
            "name": "Added",
            "monitor_mode": "keywords",
            "monitor_keywords": "price",
        },
        "group-update": {
            f"group-{group.pk if group else 0}-monitor_mode": "all",
            f"group-{group.pk if group else 0}-monitor_keywords": "",
        },
        "users": {
            "username": "newbie",
            "password1": "a-long-Passphrase-42",
            "password2": "a-long-Passphrase-42",
            "role": MANAGER,
        },
        "user-update": {"role": MANAGER, "is_active": "on"},
        "api-keys": {"name": "robot", "scopes": ["leads:read"]},
        "wall-links": {"name": "Lobby 2", "rotate": "on"},
        "login": {"username": "target", "password": "pw"},
        "custom-groups": {"name": "Fresh"},
        "user-password": {
            "new_password1": "Temporary-Tulip-42",
            "new_password2": "Temporary-Tulip-42",
        },
        "custom-group-rename": {"name": "Renamed"},
        "second-look-decide": {"decision": "lead"},
        "follow-up": {"due_at": "2030-01-02T09:30"},
        "message": {"text": "Hi", "cold_confirmed": "1"},
        "templates": {"name": "First touch", "body": "Hi {first_name}"},
        "auto-assign": {"group": str(group.pk) if group else "", "reps": []},
    }.get(name, {})


@pytest.mark.parametrize("htmx", [False, True], ids=["form post", "htmx post"])
@pytest.mark.parametrize("name", sorted(set(ROUTE_NAMES) - CSRF_EXEMPT))
def test_every_dashboard_route_refuses_a_post_without_its_csrf_token(name: str, htmx: bool) -> None:
    objects = world()
    pattern = next(p for p in leads_routes() if p.name == name)
    client = manager()
    data = form_data(name)
    before = fingerprint()

    response = client.post(url_of(pattern, objects), data, headers=HTMX if htmx else {})

    assert response.status_code == 403, response.content[:300]
    assert fingerprint() == before
    if htmx:
        # The refusal lands in the messages region instead of replacing the page's content.
        assert response["HX-Retarget"] == "#messages"
    assert "Reload the page and try again." in response.text


def test_the_same_posts_with_the_token_get_past_the_csrf_check() -> None:
    """Proves the 403s above come from the missing token, not from bad form data."""
    objects = world()
    client = manager()
    token = client.get(reverse("leads:table")).cookies["csrftoken"].value
    for name in ("change-status", "bulk", "groups", "api-keys", "wall-links", "logout"):
        pattern = next(p for p in leads_routes() if p.name == name)
        response = client.post(
            url_of(pattern, objects), form_data(name), headers={"X-CSRFToken": token}
        )
        assert response.status_code in (200, 302), (name, response.content[:300])
        if name == "logout":
            continue
        assert "Reload the page and try again." not in response.text, name
    assert LeadStatusChange.objects.filter(lead_id=objects["lead_id"]).exists()


def test_a_post_with_a_forged_token_is_refused_like_no_token() -> None:
    objects = world()
    client = manager()
    client.get(reverse("leads:table"))
    response = client.post(
        reverse("leads:change-status", args=[objects["lead_id"]]),
        form_data("change-status"),
        headers={"X-CSRFToken": "x" * 32, **HTMX},
    )
    assert response.status_code == 403
    assert Lead.objects.get(pk=objects["lead_id"]).lead_status == "new"


def test_the_admin_refuses_a_post_without_its_csrf_token() -> None:
    boss = User.objects.create_superuser("boss", password="pw")
    client = Client(enforce_csrf_checks=True)
    client.force_login(boss)
    lead = make_lead()
    response = client.post(
        "/admin/leads/lead/",
        {"action": "delete_selected", "_selected_action": [str(lead.pk)], "post": "yes"},
    )
    assert response.status_code == 403
    assert Lead.objects.filter(pk=lead.pk).exists()


# --- The exempt ones: machines, authenticated without cookies ---------------------------------


def test_only_the_webhooks_are_csrf_exempt_among_the_dashboard_routes() -> None:
    exempt = {p.name for p in leads_routes() if getattr(p.callback, "csrf_exempt", False)}
    assert exempt == CSRF_EXEMPT


def test_the_webhooks_refuse_an_unsigned_post_when_a_secret_is_set(settings) -> None:
    settings.WAHA_WEBHOOK_SECRET = "waha-secret"
    settings.MOLTFLOW_WEBHOOK_SECRET = "moltflow-secret"
    make_group(make_session("default"))
    before = fingerprint()
    client = Client(enforce_csrf_checks=True)
    body = json.dumps(
        {"event": "session.status", "session": "default", "payload": {"status": "FAILED"}}
    )
    for name in sorted(CSRF_EXEMPT):
        response = client.post(reverse(f"leads:{name}"), body, content_type="application/json")
        assert response.status_code == 401, (name, response.content[:200])
    assert fingerprint() == before


def test_the_api_ignores_a_signed_in_browser_session() -> None:
    """Exempt from CSRF is only safe because a cookie alone opens nothing here."""
    client = manager()
    lead = make_lead()
    read = client.get("/api/v2/leads")
    write = client.patch(
        f"/api/v2/leads/{lead.id}/status", {"status": "lost"}, content_type="application/json"
    )
    bulk = client.post(
        "/api/v2/leads/bulk/status",
        {"lead_ids": [str(lead.id)], "status": "lost"},
        content_type="application/json",
    )
    assert (read.status_code, write.status_code, bulk.status_code) == (401, 401, 401)
    assert Lead.objects.get(pk=lead.pk).lead_status == "new"


def test_the_api_takes_a_key_without_any_csrf_token() -> None:
    _, raw = make_api_key()
    lead = make_lead()
    client = Client(enforce_csrf_checks=True, headers={"X-API-Key": raw})
    response = client.patch(
        f"/api/v2/leads/{lead.id}/status", {"status": "contacted"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    created = client.post(
        "/api/v2/groups",
        {
            "session_id": str(make_session().pk),
            "wa_group_id": "120363077777777777@g.us",
            "name": "By key",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content


# --- Every POST route has a role decision in test_roles -----------------------------------------


def test_every_route_that_accepts_a_post_is_in_the_role_table() -> None:
    objects = world()
    client = manager(enforce_csrf=False)
    accepting = set()
    for pattern in leads_routes():
        response = client.post(url_of(pattern, objects), {})
        if response.status_code != 405:
            accepting.add(pattern.name)
    in_role_table = {
        resolve(endpoint.url()).url_name for endpoint in ENDPOINTS if endpoint.method == "post"
    }
    assert accepting - set(POST_OUTSIDE_ROLES) == in_role_table
    assert set(POST_OUTSIDE_ROLES) <= accepting
