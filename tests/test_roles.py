"""Roles: who may read, who may move one lead, who may do everything else — on every endpoint.

Personas: an outsider (not signed in), a viewer, a rep and a manager. The server refuses
each with 403 (or sends the outsider to sign in) and changes nothing; the pages hide what the
role cannot do.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from leads.models import (
    ApiKey,
    AutoAssignRule,
    CustomGroup,
    CustomGroupMember,
    ImportJob,
    Lead,
    LeadAssignment,
    LeadFollowUp,
    LeadStatusChange,
    LeadTimelineEntry,
    MessageTemplate,
    MonitoredGroup,
    OutreachMessage,
    PasswordChangeRequired,
    SeenGroup,
    SetAsideMessage,
    WallLink,
)
from leads.roles import MANAGER, REP, ROLES, VIEWER, can, set_user_role, user_role
from tests.factories import make_group, make_import_job, make_lead, make_session, make_set_aside

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def person(username: str, role: str | None) -> User:
    user = User.objects.create_user(username, password="pw")
    if role:
        set_user_role(user, role)
    return user


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clients() -> dict[str, Client]:
    return {
        "outsider": Client(),
        VIEWER: signed_in(person("vera", VIEWER)),
        REP: signed_in(person("rick", REP)),
        MANAGER: signed_in(person("mona", MANAGER)),
    }


# --- Who has which role --------------------------------------------------------------------


def test_a_user_in_no_group_is_a_viewer():
    assert user_role(person("plain", None)) == VIEWER


def test_a_superuser_is_a_manager_whatever_the_groups():
    boss = User.objects.create_superuser("boss", password="pw")
    assert user_role(boss) == MANAGER


def test_a_user_in_several_groups_gets_the_highest_role():
    user = person("both", None)
    user.groups.add(Group.objects.get(name=VIEWER), Group.objects.get(name=REP))
    assert user_role(user) == REP


def test_staff_without_a_role_group_is_only_a_viewer():
    admin_only = User.objects.create_user("admin-only", is_staff=True)
    assert user_role(admin_only) == VIEWER
    assert not can(admin_only, "bulk")


def test_an_inactive_user_has_no_role():
    gone = person("gone", MANAGER)
    gone.is_active = False
    assert user_role(gone) is None


def test_the_migration_created_the_three_role_groups():
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)


# --- Every endpoint, every persona -----------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    least: str
    url: Callable[[], str]
    data: Callable[[], dict] = dict
    # Checks that a refused request changed nothing (run after every refusal).
    unchanged: Callable[[], bool] = lambda: True


def _lead() -> Lead:
    return Lead.objects.first() or make_lead()


def _group() -> MonitoredGroup:
    return MonitoredGroup.objects.first() or make_group()


def _job() -> ImportJob:
    return ImportJob.objects.first() or make_import_job(_group())


def _seen() -> SeenGroup:
    return SeenGroup.objects.first() or SeenGroup.objects.create(
        session=make_session(), wa_group_id="120363999999999999@g.us", name="Seen"
    )


def _wall_link() -> WallLink:
    return WallLink.objects.first() or WallLink.issue("TV")[0]


def _api_key() -> ApiKey:
    return ApiKey.objects.first() or ApiKey.issue("kept")[0]


def _set_aside() -> SetAsideMessage:
    return SetAsideMessage.objects.first() or make_set_aside()


def _template() -> MessageTemplate:
    return MessageTemplate.objects.first() or MessageTemplate.objects.create(name="Kept", body="x")


def _custom_group() -> CustomGroup:
    group = CustomGroup.objects.first()
    if group is None:
        group = CustomGroup.objects.create(name="Kept")
        CustomGroupMember.objects.create(group=group, phone="+15550100")
    return group


def _custom_group_kept() -> bool:
    return CustomGroup.objects.filter(name="Kept", members__phone="+15550100").count() == 1


def _target_user() -> User:
    return User.objects.get_or_create(username="target")[0]


ENDPOINTS = [
    Endpoint("table", "get", VIEWER, lambda: reverse("leads:table")),
    Endpoint("board", "get", VIEWER, lambda: reverse("leads:board")),
    Endpoint("detail", "get", VIEWER, lambda: reverse("leads:detail", args=[_lead().id])),
    Endpoint("reciprocity", "get", VIEWER, lambda: reverse("leads:reciprocity", args=[_lead().id])),
    Endpoint("activity", "get", VIEWER, lambda: reverse("leads:activity")),
    Endpoint("live events", "get", VIEWER, lambda: reverse("leads:live-events")),
    Endpoint(
        "change status",
        "post",
        REP,
        lambda: reverse("leads:change-status", args=[_lead().id]),
        lambda: {"status": "contacted", "expected_status": "new"},
        lambda: _lead().lead_status == "new",
    ),
    Endpoint(
        "take it",
        "post",
        REP,
        lambda: reverse("leads:take", args=[_lead().id]),
        unchanged=lambda: not LeadAssignment.objects.exists(),
    ),
    Endpoint(
        "assign",
        "post",
        MANAGER,
        lambda: reverse("leads:assign", args=[_lead().id]),
        lambda: {"owner": str(User.objects.get(username="rick").pk), "expected_owner": ""},
        lambda: not LeadAssignment.objects.exists(),
    ),
    Endpoint(
        "note",
        "post",
        REP,
        lambda: reverse("leads:note", args=[_lead().id]),
        lambda: {"text": "called, no answer"},
        lambda: not LeadTimelineEntry.objects.exists(),
    ),
    Endpoint(
        "follow-up",
        "post",
        REP,
        lambda: reverse("leads:follow-up", args=[_lead().id]),
        lambda: {"due_at": "2030-01-02T09:30"},
        lambda: not LeadFollowUp.objects.exists(),
    ),
    Endpoint("message dialog", "get", REP, lambda: reverse("leads:message", args=[_lead().id])),
    Endpoint(
        "message send",
        "post",
        REP,
        lambda: reverse("leads:message", args=[_lead().id]),
        lambda: {"text": "Hi", "cold_confirmed": "1"},
        lambda: not OutreachMessage.objects.exists() and _lead().lead_status == "new",
    ),
    Endpoint("templates page", "get", MANAGER, lambda: reverse("leads:templates")),
    Endpoint(
        "add template",
        "post",
        MANAGER,
        lambda: reverse("leads:templates"),
        lambda: {"name": "First touch", "body": "Hi {first_name}"},
        lambda: not MessageTemplate.objects.filter(name="First touch").exists(),
    ),
    Endpoint(
        "delete template",
        "post",
        MANAGER,
        lambda: reverse("leads:template-delete", args=[_template().pk]),
        unchanged=lambda: MessageTemplate.objects.filter(name="Kept").exists(),
    ),
    Endpoint("auto-assign page", "get", MANAGER, lambda: reverse("leads:auto-assign")),
    Endpoint(
        "set auto-assign",
        "post",
        MANAGER,
        lambda: reverse("leads:auto-assign"),
        lambda: {"group": str(_group().pk), "reps": [User.objects.get(username="rick").pk]},
        lambda: not AutoAssignRule.objects.exists(),
    ),
    Endpoint(
        "bulk",
        "post",
        MANAGER,
        lambda: reverse("leads:bulk"),
        lambda: {"action": "status", "status": "lost", "lead": [str(_lead().id)]},
        lambda: _lead().lead_status == "new",
    ),
    Endpoint("export csv", "get", MANAGER, lambda: reverse("leads:export", args=["csv"])),
    Endpoint("export json", "get", MANAGER, lambda: reverse("leads:export", args=["json"])),
    Endpoint("import page", "get", MANAGER, lambda: reverse("leads:import")),
    Endpoint(
        "import upload",
        "post",
        MANAGER,
        lambda: reverse("leads:import"),
        lambda: {"group": str(_group().pk)},
    ),
    Endpoint(
        "import job page", "get", MANAGER, lambda: reverse("leads:import-job", args=[_job().pk])
    ),
    Endpoint("groups page", "get", MANAGER, lambda: reverse("leads:groups")),
    Endpoint(
        "add group",
        "post",
        MANAGER,
        lambda: reverse("leads:groups"),
        lambda: {
            "session": str(make_session().pk),
            "wa_group_id": "120363012345678901@g.us",
            "name": "Added",
            "monitor_mode": "keywords",
            "monitor_keywords": "price",
        },
        lambda: not MonitoredGroup.objects.filter(name="Added").exists(),
    ),
    Endpoint(
        "update group",
        "post",
        MANAGER,
        lambda: reverse("leads:group-update", args=[_group().pk]),
        lambda: {
            f"group-{_group().pk}-monitor_mode": "all",
            f"group-{_group().pk}-monitor_keywords": "",
        },
        lambda: _group().monitor_mode == "keywords",
    ),
    Endpoint(
        "monitor seen group",
        "post",
        MANAGER,
        lambda: reverse("leads:seen-group-monitor", args=[_seen().pk]),
        unchanged=lambda: (
            not MonitoredGroup.objects.filter(wa_group_id="120363999999999999@g.us").exists()
        ),
    ),
    Endpoint("custom groups", "get", VIEWER, lambda: reverse("leads:custom-groups")),
    Endpoint(
        "custom group",
        "get",
        VIEWER,
        lambda: reverse("leads:custom-group", args=[_custom_group().id]),
    ),
    Endpoint(
        "create custom group",
        "post",
        MANAGER,
        lambda: reverse("leads:custom-groups"),
        lambda: {"name": "Fresh"},
        lambda: not CustomGroup.objects.filter(name="Fresh").exists(),
    ),
    Endpoint(
        "rename custom group",
        "post",
        MANAGER,
        lambda: reverse("leads:custom-group-rename", args=[_custom_group().id]),
        lambda: {"name": "Renamed"},
        _custom_group_kept,
    ),
    Endpoint(
        "remove custom group member",
        "post",
        MANAGER,
        lambda: reverse("leads:custom-group-remove-member", args=[_custom_group().id]),
        lambda: {"phone": "+15550100"},
        _custom_group_kept,
    ),
    Endpoint(
        "delete custom group (confirm)",
        "get",
        MANAGER,
        lambda: reverse("leads:custom-group-delete", args=[_custom_group().id]),
    ),
    Endpoint(
        "delete custom group",
        "post",
        MANAGER,
        lambda: reverse("leads:custom-group-delete", args=[_custom_group().id]),
        unchanged=_custom_group_kept,
    ),
    Endpoint(
        "export custom group",
        "get",
        MANAGER,
        lambda: reverse("leads:custom-group-export", args=[_custom_group().id]),
    ),
    Endpoint("own password page", "get", VIEWER, lambda: reverse("leads:password")),
    Endpoint("change own password", "post", VIEWER, lambda: reverse("leads:password")),
    Endpoint(
        "temporary password page",
        "get",
        MANAGER,
        lambda: reverse("leads:user-password", args=[_target_user().pk]),
    ),
    Endpoint(
        "set a temporary password",
        "post",
        MANAGER,
        lambda: reverse("leads:user-password", args=[_target_user().pk]),
        lambda: {"new_password1": "Temporary-Tulip-42", "new_password2": "Temporary-Tulip-42"},
        lambda: not PasswordChangeRequired.objects.exists(),
    ),
    Endpoint("users page", "get", MANAGER, lambda: reverse("leads:users")),
    Endpoint(
        "add user",
        "post",
        MANAGER,
        lambda: reverse("leads:users"),
        lambda: {
            "username": "newbie",
            "password1": "a-long-Passphrase-42",
            "password2": "a-long-Passphrase-42",
            "role": MANAGER,
        },
        lambda: not User.objects.filter(username="newbie").exists(),
    ),
    Endpoint(
        "set role",
        "post",
        MANAGER,
        lambda: reverse("leads:user-update", args=[_target_user().pk]),
        lambda: {"role": MANAGER, "is_active": "on"},
        lambda: user_role(User.objects.get(username="target")) == VIEWER,
    ),
    Endpoint("api keys page", "get", MANAGER, lambda: reverse("leads:api-keys")),
    Endpoint(
        "issue api key",
        "post",
        MANAGER,
        lambda: reverse("leads:api-keys"),
        lambda: {"name": "robot", "scopes": ["leads:read"]},
        lambda: not ApiKey.objects.filter(name="robot").exists(),
    ),
    Endpoint(
        "revoke api key",
        "post",
        MANAGER,
        lambda: reverse("leads:api-key-revoke", args=[_api_key().pk]),
        unchanged=lambda: _api_key().revoked_at is None,
    ),
    Endpoint("wall links page", "get", MANAGER, lambda: reverse("leads:wall-links")),
    Endpoint(
        "create wall link",
        "post",
        MANAGER,
        lambda: reverse("leads:wall-links"),
        lambda: {"name": "Lobby", "rotate": "on"},
        lambda: not WallLink.objects.filter(name="Lobby").exists(),
    ),
    Endpoint(
        "revoke wall link",
        "post",
        MANAGER,
        lambda: reverse("leads:wall-link-revoke", args=[_wall_link().pk]),
        unchanged=lambda: _wall_link().revoked_at is None,
    ),
    Endpoint("second look page", "get", MANAGER, lambda: reverse("leads:second-look")),
    Endpoint(
        "second look decision",
        "post",
        MANAGER,
        lambda: reverse("leads:second-look-decide", args=[_set_aside().pk]),
        lambda: {"decision": "lead"},
        lambda: _set_aside().decision == "",
    ),
]
PERSONAS = ("outsider", VIEWER, REP, MANAGER)
RANK = {VIEWER: 0, REP: 1, MANAGER: 2}


def _call(client: Client, endpoint: Endpoint):
    url = endpoint.url()
    data = endpoint.data()
    return client.post(url, data) if endpoint.method == "post" else client.get(url)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize("who", PERSONAS)
def test_each_role_gets_exactly_its_endpoints(clients, endpoint: Endpoint, who: str) -> None:
    make_lead()  # a lead in `new` for the endpoints that need one
    response = _call(clients[who], endpoint)

    if who == "outsider":
        assert response.status_code in (302, 401)
        if response.status_code == 302:
            assert response["Location"].startswith("/login/?next=")
        assert endpoint.unchanged()
    elif RANK[who] < RANK[endpoint.least]:
        assert response.status_code == 403, response.content[:300]
        assert endpoint.unchanged()
    else:
        assert response.status_code not in (401, 403), response.content[:300]
        assert not (response.status_code == 302 and "/login/" in response["Location"])


def test_a_refusal_says_which_role_is_needed(clients) -> None:
    response = clients[VIEWER].post(
        reverse("leads:change-status", args=[make_lead().id]), {"status": "lost"}
    )
    assert response.status_code == 403
    assert "You are signed in as a viewer; this needs the rep role." in response.text


def test_an_htmx_refusal_is_the_messages_region_retargeted(clients) -> None:
    response = clients[VIEWER].post(
        reverse("leads:change-status", args=[make_lead().id]),
        {"status": "lost"},
        headers={**HTMX, "HX-Target": "lead-panel"},
    )
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#messages"
    assert response["HX-Reswap"] == "outerHTML"
    assert response.text.lstrip().startswith('<div id="messages"')
    assert "needs the rep role" in response.text
    # The main content of the answer, not an out-of-band extra beside nothing.
    assert "hx-swap-oob" not in response.text


def test_an_outsiders_htmx_request_sends_the_whole_tab_to_sign_in() -> None:
    response = Client().get(reverse("leads:table"), headers={**HTMX, "HX-Target": "leads"})
    assert response["HX-Redirect"].startswith("/login/?next=")


def test_a_rep_moves_a_lead_and_the_change_records_who() -> None:
    rick = person("rick", REP)
    lead = make_lead()
    signed_in(rick).post(reverse("leads:change-status", args=[lead.id]), {"status": "contacted"})
    change = LeadStatusChange.objects.get(lead=lead)
    assert (change.actor_kind, change.user, change.actor_label) == ("user", rick, "rick")


# --- What each role is offered --------------------------------------------------------------


def test_a_viewer_is_offered_no_moves_no_bulk_and_no_exports(clients) -> None:
    lead = make_lead()
    table = clients[VIEWER].get(reverse("leads:table")).text
    detail = clients[VIEWER].get(reverse("leads:detail", args=[lead.id])).text
    assert 'name="lead"' not in table
    assert reverse("leads:export", args=["csv"]) not in table
    assert 'name="status" value="contacted"' not in detail
    for page in (table, detail):
        assert reverse("leads:groups") not in page
        assert reverse("leads:wall-links") not in page


def test_a_rep_is_offered_moves_but_no_bulk_and_no_exports(clients) -> None:
    lead = make_lead()
    table = clients[REP].get(reverse("leads:table")).text
    detail = clients[REP].get(reverse("leads:detail", args=[lead.id])).text
    assert 'name="status" value="contacted"' in detail
    assert 'name="lead"' not in table
    assert reverse("leads:export", args=["csv"]) not in table


def test_a_manager_is_offered_everything(clients) -> None:
    make_lead()
    table = clients[MANAGER].get(reverse("leads:table")).text
    assert 'name="lead"' in table
    assert "Export this lead:" in table
    assert reverse("leads:export", args=["csv"]) in table
    for name in (
        "leads:groups",
        "leads:import",
        "leads:api-keys",
        "leads:wall-links",
        "leads:users",
    ):
        assert f'href="{reverse(name)}"' in table


def test_every_page_names_the_role_and_offers_sign_out(clients) -> None:
    page = clients[REP].get(reverse("leads:table")).text
    assert '<span class="role-badge">rep</span>' in page
    assert f'action="{reverse("leads:logout")}"' in page


# --- Users and roles page ---------------------------------------------------------------------


def test_a_manager_adds_a_person_with_a_role(clients) -> None:
    response = clients[MANAGER].post(
        reverse("leads:users"),
        {
            "username": "newrep",
            "password1": "a-long-Passphrase-42",
            "password2": "a-long-Passphrase-42",
            "role": REP,
        },
    )
    assert response.status_code == 302
    newrep = User.objects.get(username="newrep")
    assert user_role(newrep) == REP
    assert newrep.check_password("a-long-Passphrase-42")


def test_a_manager_changes_a_role_and_it_applies_at_once(clients) -> None:
    vera = User.objects.get(username="vera")
    lead = make_lead()
    clients[MANAGER].post(
        reverse("leads:user-update", args=[vera.pk]), {"role": REP, "is_active": "on"}
    )
    response = clients[VIEWER].post(
        reverse("leads:change-status", args=[lead.id]), {"status": "contacted"}
    )
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).lead_status == "contacted"


def test_a_manager_cannot_demote_or_switch_off_themselves(clients) -> None:
    mona = User.objects.get(username="mona")
    response = clients[MANAGER].post(
        reverse("leads:user-update", args=[mona.pk]), {"role": VIEWER}, follow=True
    )
    assert "You cannot change your own role" in response.text
    mona.refresh_from_db()
    assert user_role(mona) == MANAGER and mona.is_active


def test_switching_someone_off_ends_their_access(clients) -> None:
    rick = User.objects.get(username="rick")
    clients[MANAGER].post(reverse("leads:user-update", args=[rick.pk]), {"role": REP})
    assert clients[REP].get(reverse("leads:table")).status_code == 302


def test_user_names_are_escaped_on_the_users_page(clients) -> None:
    User.objects.create_user("<b>x</b>")
    page = clients[MANAGER].get(reverse("leads:users")).text
    assert "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_a_manager_issues_a_key_that_works_once_and_revokes_it(clients) -> None:
    response = clients[MANAGER].post(
        reverse("leads:api-keys"), {"name": "crm", "scopes": ["leads:read"]}
    )
    raw = re.search(r'value="(mf_[A-Za-z0-9_-]{40})"', response.text).group(1)
    key = ApiKey.objects.get(name="crm")
    assert key.scopes == ["leads:read"] and raw not in key.key_hash
    api = Client(headers={"X-API-Key": raw})
    assert api.get("/api/v2/leads").status_code == 200
    assert raw not in clients[MANAGER].get(reverse("leads:api-keys")).text
    clients[MANAGER].post(reverse("leads:api-key-revoke", args=[key.pk]))
    assert api.get("/api/v2/leads").status_code == 401


# --- No view without a decision ----------------------------------------------------------------

PUBLIC = {
    # Health checks, sign-in/out, machine-to-machine webhooks (signed), the wall (token).
    "healthz",
    "home",
    "login",
    "logout",
    "webhook-waha",
    "webhook-moltflow",
    "wall",
    "wall-events",
    "wall-snapshot",
}


def _leads_patterns() -> list[URLPattern]:
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace == "leads":
            return [p for p in entry.url_patterns if isinstance(p, URLPattern)]
    raise AssertionError("the leads URLs are not mounted")


def test_every_dashboard_view_declares_its_role() -> None:
    undecided = [
        pattern.name
        for pattern in _leads_patterns()
        if pattern.name not in PUBLIC and not hasattr(pattern.callback, "required_role")
    ]
    assert undecided == []


def test_seed_demo_prints_a_rep_and_a_viewer_login() -> None:
    out = StringIO()
    call_command("seed_demo", "--leads", "5", stdout=out)
    logins = dict(re.findall(r"Demo login \((\w+)\): \S+ / (\S+)", out.getvalue()))
    for role, username in ((REP, "rep"), (VIEWER, "viewer")):
        user = authenticate(username=username, password=logins[role])
        assert user is not None and user_role(user) == role
