"""Live updates: every change announces itself in the shared database, and screens poll it.

The event log is what reaches screens served by other processes, so these tests check that
every way a lead can change writes to it — the dashboard, the API, webhooks, imports and the
sync — that a failed change writes nothing, and how `/live/events` answers.
"""

import time
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session as DjangoSession
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads import services
from leads.assignments import lead_add_note, lead_bulk_assign, lead_take
from leads.chat_import import import_chat_export
from leads.events import SEEN_WINDOW, current_token, prune_events
from leads.follow_ups import lead_set_follow_up
from leads.live import LAST_ACTIVE_KEY, renewal_step
from leads.live_lane import TokenMemory
from leads.models import LeadEvent, LeadEventKind
from leads.pipeline import InvalidTransition
from leads.roles import MANAGER, REP, set_user_role
from tests.factories import make_group, make_lead, make_session
from tests.people import person
from tests.test_waha_webhook import envelope, group_message
from tests.test_webhook_moltflow import lead_object
from tests.webhooks import post_moltflow, post_waha

pytestmark = pytest.mark.django_db

EVENTS = "/live/events"
SYSTEM = services.Actor.system("test")


def kinds() -> list[str]:
    return list(LeadEvent.objects.order_by("id").values_list("kind", flat=True))


@pytest.fixture
def rep_client() -> Client:
    user = User.objects.create_user("rick", password="pw")
    set_user_role(user, REP)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager_client() -> Client:
    user = User.objects.create_user("mona", password="pw")
    set_user_role(user, MANAGER)
    client = Client()
    client.force_login(user)
    return client


# --- Every writer announces ------------------------------------------------------------------


def test_a_status_change_announces_itself_in_its_own_transaction() -> None:
    lead = make_lead()
    with CaptureQueriesContext(connection) as queries:
        services.lead_change_status(lead.id, "contacted", SYSTEM)
    event = LeadEvent.objects.get()
    assert (event.kind, event.lead_id) == (LeadEventKind.STATUS_CHANGED, lead.id)
    sql = [query["sql"] for query in queries]
    insert = next(i for i, s in enumerate(sql) if "leads_leadevent" in s)
    update = next(i for i, s in enumerate(sql) if s.startswith("UPDATE") and "leads_lead" in s)
    # Inside the change's transaction: after the UPDATE, before the commit.
    assert update < insert
    assert not any(s.startswith(("COMMIT", "RELEASE")) for s in sql[update:insert])


def test_a_refused_change_announces_nothing() -> None:
    lead = make_lead(status="converted")
    with pytest.raises(InvalidTransition):
        services.lead_change_status(lead.id, "new", SYSTEM)
    assert not LeadEvent.objects.exists()


def test_a_bulk_change_is_one_event_in_one_insert() -> None:
    group = make_group()
    ids = [make_lead(group).id for _ in range(30)]
    with CaptureQueriesContext(connection) as queries:
        result = services.lead_bulk_change_status(ids, "lost", SYSTEM)
    assert len(result.updated) == 30
    inserts = [
        q for q in queries if q["sql"].startswith("INSERT") and "leads_leadevent" in q["sql"]
    ]
    assert len(inserts) == 1
    assert kinds() == [LeadEventKind.STATUS_CHANGED]


def test_a_bulk_change_that_moves_nothing_announces_nothing() -> None:
    lead = make_lead(status="converted")
    services.lead_bulk_change_status([lead.id, uuid.uuid4()], "lost", SYSTEM)
    assert not LeadEvent.objects.exists()


def test_owners_follow_ups_and_notes_announce_in_their_transaction() -> None:
    # The cards show owners and follow-ups, the lead's page its notes: other screens redraw
    # them, and a shared rendering keyed on the token is not served stale.
    rep = person("rick", REP)
    group = make_group()
    lead, other = make_lead(group), make_lead(group)
    lead_take(lead.id, rep)
    lead_bulk_assign([lead.id, other.id], rep, rep)  # one of the two changed
    lead_bulk_assign([lead.id, other.id], None, rep)
    lead_bulk_assign([lead.id], None, rep)  # nobody's already: nothing changed
    lead_set_follow_up(lead.id, timezone.now() + timedelta(days=1), rep)
    lead_add_note(lead.id, "called, call back Monday", rep)
    events = list(LeadEvent.objects.order_by("id").values_list("kind", "lead_id"))
    assert events == [
        (LeadEventKind.DETAILS_CHANGED, lead.id),
        (LeadEventKind.DETAILS_CHANGED, other.id),
        (LeadEventKind.DETAILS_CHANGED, None),  # two leads: one row
        (LeadEventKind.DETAILS_CHANGED, lead.id),
        (LeadEventKind.DETAILS_CHANGED, lead.id),
    ]
    with pytest.raises(ValueError):
        lead_add_note(lead.id, "   ", rep)
    assert LeadEvent.objects.count() == 5


def test_the_dashboards_own_move_announces(rep_client: Client) -> None:
    lead = make_lead()
    rep_client.post(reverse("leads:change-status", args=[lead.id]), {"status": "contacted"})
    assert LeadEvent.objects.get().lead_id == lead.id


def test_the_dashboards_bulk_move_announces(manager_client: Client) -> None:
    leads = [make_lead() for _ in range(3)]
    manager_client.post(
        reverse("leads:bulk"),
        {"action": "status", "status": "lost", "lead": [str(lead.id) for lead in leads]},
    )
    assert kinds() == [LeadEventKind.STATUS_CHANGED]


def test_an_api_status_change_announces(api) -> None:
    lead = make_lead()
    response = api.patch(
        f"/api/v2/leads/{lead.id}/status", {"status": "contacted"}, "application/json"
    )
    assert response.status_code == 200
    assert LeadEvent.objects.get().lead_id == lead.id


def test_an_api_bulk_change_announces(api) -> None:
    ids = [str(make_lead().id) for _ in range(3)]
    response = api.post(
        "/api/v2/leads/bulk/status", {"lead_ids": ids, "status": "lost"}, "application/json"
    )
    assert response.json()["updated"] == 3
    assert kinds() == [LeadEventKind.STATUS_CHANGED]


def test_a_lead_from_a_waha_webhook_announces_after_commit(django_capture_on_commit_callbacks):
    group = make_group(make_session("default"), keywords=["price"])
    body = envelope("message", group_message(group.wa_group_id, "what's the price?"))
    with django_capture_on_commit_callbacks(execute=True):
        response = post_waha(Client(), body)
    assert response.status_code == 200
    assert kinds() == [LeadEventKind.CREATED]


def test_a_lead_from_a_moltflow_webhook_announces(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_moltflow(Client(), {"event": "lead.detected", "data": lead_object()})
    assert kinds() == [LeadEventKind.CREATED]


def test_an_upstream_status_change_from_the_sync_announces(django_capture_on_commit_callbacks):
    lead = lead_object()
    # Two deliveries, two requests: each commits (and announces) before the next.
    for status in ["new", "qualified"]:
        with django_capture_on_commit_callbacks(execute=True):
            post_moltflow(
                Client(), {"event": "lead.detected", "data": {**lead, "lead_status": status}}
            )
    assert kinds() == [LeadEventKind.CREATED, LeadEventKind.STATUS_CHANGED]


def test_leads_from_an_imported_chat_export_announce(django_capture_on_commit_callbacks):
    group = make_group(keywords=["price"])
    export = (
        b"25/12/2023, 14:03 - Dana Levi: what's the price?\n"
        b"25/12/2023, 14:05 - Omer Cohen: price for two?\n"
        b"25/12/2023, 14:06 - Omer Cohen: thanks\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        import_chat_export(group, export)
    assert kinds() == [LeadEventKind.CREATED, LeadEventKind.CREATED]


# --- The token and the endpoint ---------------------------------------------------------


def test_the_token_moves_with_every_event() -> None:
    before = current_token()
    services.lead_change_status(make_lead().id, "lost", SYSTEM)
    after = current_token()
    assert after.last > before.last and after.seen == before.seen + 1


def test_a_change_that_commits_late_still_moves_the_token() -> None:
    # Transaction A takes id 2 and commits after transaction B (id 3): the newest id does
    # not move when A lands, but the count behind it does.
    LeadEvent.objects.create(id=1, kind="created")
    LeadEvent.objects.create(id=3, kind="created")
    seen_before = current_token()
    LeadEvent.objects.create(id=2, kind="created")
    assert current_token().last == seen_before.last
    assert current_token() != seen_before


def test_the_endpoint_answers_204_while_nothing_changed(rep_client: Client) -> None:
    make_lead()
    token = rep_client.get(EVENTS, headers={"Accept": "application/json"}).json()
    response = rep_client.get(EVENTS, {"after": token["last"], "seen": token["seen"]})
    assert response.status_code == 204
    assert response.content == b""


def test_the_endpoint_answers_the_new_token_after_a_change(rep_client: Client) -> None:
    token = rep_client.get(EVENTS).json()
    services.lead_change_status(make_lead().id, "lost", SYSTEM)
    response = rep_client.get(EVENTS, {"after": token["last"], "seen": token["seen"]})
    assert response.status_code == 200
    data = response.json()
    assert data["last"] > token["last"]
    assert set(data) == {"last", "seen", "server_time"}
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_endpoint_costs_one_query_after_the_session(rep_client: Client) -> None:
    rep_client.get(EVENTS)
    with CaptureQueriesContext(connection) as queries:
        rep_client.get(EVENTS, {"after": 0, "seen": 0})
    tables = [q["sql"] for q in queries]
    assert len(tables) == 3, tables  # the session, the user, the token
    assert "leads_leadevent" in tables[-1]


@pytest.mark.parametrize("params", [{}, {"after": "x", "seen": "y"}, {"after": "-1"}])
def test_junk_parameters_get_the_token(rep_client: Client, params) -> None:
    assert rep_client.get(EVENTS, params).status_code == 200


def test_an_ended_session_gets_401_not_a_login_page() -> None:
    response = Client().get(EVENTS, headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Not signed in."}


def test_a_page_starts_from_the_token_read_before_its_data(rep_client: Client) -> None:
    services.lead_change_status(make_lead().id, "lost", SYSTEM)
    token = current_token()
    page = rep_client.get(reverse("leads:table")).text
    assert f'data-last="{token.last}" data-seen="{token.seen}"' in page


def test_the_table_results_refresh_themselves_on_leads_changed(rep_client: Client) -> None:
    page = rep_client.get(reverse("leads:table"), {"status": "new", "q": "dana"}).text
    assert (
        'hx-trigger="lead-status-changed from:body, lead-owner-changed from:body, '
        'lead-follow-up-changed from:body, leads-changed from:body"'
    ) in page
    # The refresh re-reads the same filtered URL, whose leads pinned as the page showed them
    # (everyone's: this rep owns none), into the results only (not the panel).
    assert 'hx-get="/leads/?status=new&amp;q=dana&amp;owner="' in page
    assert 'hx-target="#leads-results"' in page
    assert '<aside id="lead-panel"' in page
    assert "Re-reads this region" not in page  # template comments stay in the template


def test_old_events_are_pruned_but_the_newest_tail_stays() -> None:
    old = timezone.now() - timedelta(days=2)
    LeadEvent.objects.bulk_create(
        [LeadEvent(kind="created", created_at=old) for _ in range(SEEN_WINDOW + 50)]
    )
    token = current_token()
    deleted = prune_events()
    assert deleted == 50
    assert current_token() == token  # screens see no change from a prune


def test_a_prune_deletes_at_most_one_batch() -> None:
    old = timezone.now() - timedelta(days=2)
    LeadEvent.objects.bulk_create(
        [LeadEvent(kind="created", created_at=old) for _ in range(SEEN_WINDOW + 50)]
    )
    assert prune_events(batch=20) == 20
    assert prune_events(batch=20) == 20
    assert prune_events(batch=20) == 10


def test_a_status_change_writes_its_event_and_prunes_nothing() -> None:
    old = timezone.now() - timedelta(days=2)
    LeadEvent.objects.bulk_create(
        [LeadEvent(kind="created", created_at=old) for _ in range(SEEN_WINDOW + 150)]
    )
    lead = make_lead()
    for _ in range(50):  # lost and reopened, 100 events
        services.lead_change_status(lead.id, "lost", SYSTEM)
        services.lead_change_status(lead.id, "new", SYSTEM)
    assert LeadEvent.objects.filter(created_at=old).count() == SEEN_WINDOW + 150


def test_the_screens_token_reader_prunes_once_an_interval(settings) -> None:
    settings.LIVE_PRUNE_SECONDS = 600
    old = timezone.now() - timedelta(days=2)
    LeadEvent.objects.bulk_create(
        [LeadEvent(kind="created", created_at=old) for _ in range(SEEN_WINDOW + 150)]
    )
    now = [1000.0]
    memory = TokenMemory(clock=lambda: now[0])
    memory.read(0)
    assert LeadEvent.objects.count() == SEEN_WINDOW + 150  # not at start

    now[0] += 600
    token = memory.read(0).token
    assert LeadEvent.objects.count() == SEEN_WINDOW  # the tail stays
    assert current_token() == token  # screens see no change from a prune

    LeadEvent.objects.bulk_create([LeadEvent(kind="created", created_at=old) for _ in range(10)])
    now[0] += 599
    memory.read(0)
    assert LeadEvent.objects.count() == SEEN_WINDOW + 10  # not again within the interval
    now[0] += 1
    memory.read(0)
    assert LeadEvent.objects.count() == SEEN_WINDOW


# --- Idle sessions ---------------------------------------------------------------------


def _expiry(client: Client):
    return DjangoSession.objects.get(session_key=client.session.session_key).expire_date


def _as_if_idle(client: Client, seconds: int) -> None:
    session = client.session
    session[LAST_ACTIVE_KEY] = int(time.time()) - seconds
    session.save()
    DjangoSession.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() + timedelta(minutes=5)
    )


def test_polls_and_live_refreshes_do_not_keep_a_session_alive(rep_client: Client) -> None:
    _as_if_idle(rep_client, 3600)
    before = _expiry(rep_client)
    rep_client.get(EVENTS)
    rep_client.get(reverse("leads:table"), headers={"HX-Request": "true", "X-Live-Refresh": "1"})
    assert _expiry(rep_client) == before


def test_the_persons_own_request_renews_the_session(rep_client: Client, settings) -> None:
    _as_if_idle(rep_client, 3600)
    before = _expiry(rep_client)
    rep_client.get(reverse("leads:table"))
    renewed = _expiry(rep_client)
    assert renewed > before
    # The idle time plus one renewal step (see leads.live.renew).
    life = settings.SESSION_COOKIE_AGE + renewal_step()
    assert abs((renewed - timezone.now()).total_seconds() - life) < 60


def test_sessions_last_the_configured_idle_time(settings) -> None:
    assert settings.SESSION_COOKIE_AGE == settings.DASHBOARD_SESSION_IDLE_MINUTES * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is False
