"""Outreach: "Message on WhatsApp" — reciprocity first, templates, the gateways, pacing, roles.

A fake WAHA server on loopback records what was sent and fails on cue. Personas: a viewer
(Vera), a rep (Rick) and a manager (Mona).
"""

import json
import socket
import uuid
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone

from leads import client as moltflow_client
from leads import outreach
from leads.client import MoltflowClient
from leads.models import (
    InboundMessage,
    Lead,
    LeadStatusChange,
    LeadTimelineEntry,
    MessageTemplate,
    OutreachMessage,
    Session,
    TimelineKind,
)
from leads.outreach import MoltflowGateway, SendRefused, WahaGateway, fill_template
from leads.roles import VIEWER
from leads.sources.local import LocalSource
from tests.factories import make_group, make_lead, make_session
from tests.fake_waha import FakeWaha, fake_waha
from tests.people import person, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def waha() -> Iterator[FakeWaha]:
    with fake_waha() as server, override_settings(WAHA_API_URL=server.url, WAHA_API_KEY="k-123"):
        yield server


def message_url(lead: Lead) -> str:
    return f"/leads/{lead.id}/message/"


def a_lead(*, warm: bool, status: str = "new", phone: str | None = "+972521234567") -> Lead:
    """A lead in a group of session "sales"; `warm`: the contact wrote to us directly."""
    session = Session.objects.filter(name="sales").first() or make_session("sales")
    group = make_group(session, name="Real Estate IL")
    lead = make_lead(group, name="Dana Levi", phone=phone or "", status=status, keyword="3 rooms")
    if warm:
        InboundMessage.objects.create(
            session=group.session,
            wa_message_id=f"in-{uuid.uuid4()}",
            contact_jid=lead.contact_jid,
            contact_phone=lead.contact_phone,
            body="hi, is it still available?",
            received_at=timezone.now() - timedelta(hours=1),
        )
    return lead


def status_of(lead: Lead) -> str:
    return Lead.objects.values_list("lead_status", flat=True).get(pk=lead.pk)


# --- templates ------------------------------------------------------------------------------


def test_a_template_fills_its_placeholders_from_the_lead_and_nothing_else() -> None:
    lead = LocalSource().get_lead(a_lead(warm=False).id)
    body = "Hi {first_name}, about {keyword} in {group}. {first_name.__class__} {other}"
    assert fill_template(body, lead) == (
        "Hi Dana, about 3 rooms in Real Estate IL. {first_name.__class__} {other}"
    )


def test_a_manager_keeps_templates_and_a_rep_starts_from_one(rick: User, mona: User) -> None:
    manager = signed_in(mona)
    response = manager.post(
        "/settings/templates/", {"name": "First touch", "body": "Hi {first_name}!"}
    )
    assert response.status_code == 302
    template = MessageTemplate.objects.get(name="First touch")
    lead = a_lead(warm=True)
    page = signed_in(rick).get(message_url(lead), {"template": template.pk}).content.decode()
    assert ">Hi Dana!</textarea>" in page
    manager.post(f"/settings/templates/{template.pk}/delete/")
    assert not MessageTemplate.objects.exists()


def test_only_managers_manage_templates(rick: User) -> None:
    client = signed_in(rick)
    assert client.get("/settings/templates/").status_code == 403
    assert client.post("/settings/templates/", {"name": "x", "body": "y"}).status_code == 403
    assert not MessageTemplate.objects.exists()


def test_what_a_template_and_a_lead_say_is_escaped_in_the_dialog(rick: User) -> None:
    template = MessageTemplate.objects.create(name="<i>t</i>", body="<script>x</script> {group}")
    lead = a_lead(warm=True)
    Lead.objects.filter(pk=lead.pk).update(contact_name="<b>Dana</b>")
    page = signed_in(rick).get(message_url(lead), {"template": template.pk}).content.decode()
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<b>Dana</b>" not in page and "<i>t</i>" not in page


# --- the send, through WAHA -----------------------------------------------------------------


def test_a_warm_lead_is_messaged_through_waha_and_moves_to_contacted(
    rick: User, waha: FakeWaha
) -> None:
    lead = a_lead(warm=True)
    client = signed_in(rick)
    page = client.get(message_url(lead)).content.decode()
    assert 'id="warm-note"' in page and 'id="cold-warning"' not in page
    response = client.post(message_url(lead), {"text": "Hi Dana, still looking?"})
    assert response.status_code == 302 and response["Location"] == f"/leads/{lead.id}/"
    [sent] = waha.sent
    assert sent["path"] == "/api/sendText"
    assert sent["json"] == {
        "session": "sales",
        "chatId": "972521234567@c.us",
        "text": "Hi Dana, still looking?",
    }
    assert sent["headers"]["X-Api-Key"] == "k-123"
    assert status_of(lead) == "contacted"
    change = LeadStatusChange.objects.get(lead_id=lead.id)
    assert (change.user, change.reason) == (rick, "via WhatsApp message")
    entry = LeadTimelineEntry.objects.get(lead_id=lead.id, kind=TimelineKind.MESSAGE)
    assert entry.text == "sent on WhatsApp: Hi Dana, still looking?"
    assert entry.actor_label == "Rick"
    page = client.get(f"/leads/{lead.id}/").content.decode()
    assert "Sent on WhatsApp and moved it to contacted." in page
    assert "sent on WhatsApp: Hi Dana, still looking?" in page


def test_a_cold_lead_needs_an_explicit_confirmation(rick: User, waha: FakeWaha) -> None:
    lead = a_lead(warm=False)
    client = signed_in(rick)
    page = client.get(message_url(lead)).content.decode()
    assert 'id="cold-warning"' in page and "spam detection" in page
    assert 'name="cold_confirmed"' in page
    refused = client.post(message_url(lead), {"text": "Hi"})
    assert refused.status_code == 400 and "Confirm that you want to send it" in refused.text
    assert waha.sent == [] and status_of(lead) == "new"
    client.post(message_url(lead), {"text": "Hi", "cold_confirmed": "1"})
    assert len(waha.sent) == 1 and status_of(lead) == "contacted"


def test_a_lead_past_new_keeps_its_status_and_gets_the_message_on_its_timeline(
    rick: User, waha: FakeWaha
) -> None:
    lead = a_lead(warm=True, status="qualified")
    signed_in(rick).post(message_url(lead), {"text": "See you tomorrow"})
    assert len(waha.sent) == 1 and status_of(lead) == "qualified"
    assert not LeadStatusChange.objects.filter(lead_id=lead.id).exists()
    assert LeadTimelineEntry.objects.filter(lead_id=lead.id, kind=TimelineKind.MESSAGE).exists()


def test_a_failed_send_says_why_and_changes_nothing(rick: User, waha: FakeWaha) -> None:
    lead = a_lead(warm=True)
    waha.fail_status, waha.fail_body = 500, '{"error": "session <b>sales</b> is STOPPED"}'
    response = signed_in(rick).post(message_url(lead), {"text": "Hi Dana"})
    assert response.status_code == 400
    assert "Not sent: WAHA refused the message (HTTP 500:" in response.text
    assert "&lt;b&gt;sales&lt;/b&gt; is STOPPED" in response.text  # escaped, not markup
    assert ">Hi Dana</textarea>" in response.text  # the rep's text is kept to retry
    assert status_of(lead) == "new"
    assert not LeadTimelineEntry.objects.filter(lead_id=lead.id).exists()
    assert not OutreachMessage.objects.exists()


def test_an_unreachable_waha_says_so_and_changes_nothing(rick: User) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    lead = a_lead(warm=True)
    with override_settings(WAHA_API_URL=closed):
        response = signed_in(rick).post(message_url(lead), {"text": "Hi"})
    assert response.status_code == 400 and "WAHA could not be reached at" in response.text
    assert status_of(lead) == "new" and not OutreachMessage.objects.exists()


def test_a_hidden_number_cannot_be_messaged_and_says_so(rick: User, waha: FakeWaha) -> None:
    lead = a_lead(warm=False, phone=None)
    client = signed_in(rick)
    page = client.get(message_url(lead)).content.decode()
    assert 'id="hidden-number"' in page and "reply to them in the group" in page
    assert 'id="send-message"' not in page
    response = client.post(message_url(lead), {"text": "Hi", "cold_confirmed": "1"})
    assert response.status_code == 400 and "cannot be messaged directly" in response.text
    assert waha.sent == [] and status_of(lead) == "new"


def test_an_empty_message_is_refused(rick: User, waha: FakeWaha) -> None:
    lead = a_lead(warm=True)
    response = signed_in(rick).post(message_url(lead), {"text": "   "})
    assert response.status_code == 400 and "Write a message first." in response.text
    assert waha.sent == []


# --- pacing ---------------------------------------------------------------------------------


@override_settings(OUTREACH_PER_MINUTE=2)
def test_sends_are_paced_per_whatsapp_session(rick: User, waha: FakeWaha) -> None:
    source = LocalSource()
    gateway = WahaGateway(waha.url, "k-123")
    now = timezone.now()
    leads = [source.get_lead(a_lead(warm=True).id) for _ in range(3)]
    for lead in leads[:2]:
        outreach.lead_send_message(
            source, lead, "Hi", rick, cold_confirmed=False, gateway=gateway, now=now
        )
    with pytest.raises(SendRefused, match="sent 2 messages in the last minute; try again in"):
        outreach.lead_send_message(
            source, leads[2], "Hi", rick, cold_confirmed=False, gateway=gateway, now=now
        )
    assert len(waha.sent) == 2 and status_of(Lead.objects.get(pk=leads[2].id)) == "new"
    # Another session has its own pace; and a minute later this one may send again.
    other = Lead.objects.get(pk=leads[2].id)
    other_group = make_group(make_session("support"))
    Lead.objects.filter(pk=other.pk).update(source_group=other_group)
    elsewhere = source.get_lead(other.pk)
    outreach.lead_send_message(
        source, elsewhere, "Hi", rick, cold_confirmed=True, gateway=gateway, now=now
    )
    later = now + timedelta(minutes=1, seconds=1)
    third = source.get_lead(a_lead(warm=True).id)
    outreach.lead_send_message(
        source, third, "Hi", rick, cold_confirmed=False, gateway=gateway, now=later
    )
    assert len(waha.sent) == 4


# --- the other gateways ---------------------------------------------------------------------


def test_with_no_gateway_the_dialog_opens_the_text_in_wa_me_and_changes_nothing(
    rick: User,
) -> None:
    lead = a_lead(warm=True)
    with override_settings(WAHA_API_URL=""):
        client = signed_in(rick)
        assert "Open in WhatsApp" in client.get(message_url(lead)).content.decode()
        response = client.post(message_url(lead), {"text": "Hi Dana & co?"})
    link = urlsplit(response["Location"])
    assert (link.scheme, link.netloc, link.path) == ("https", "wa.me", "/972521234567")
    assert parse_qs(link.query) == {"text": ["Hi Dana & co?"]}
    assert status_of(lead) == "new" and not OutreachMessage.objects.exists()


def test_in_moltflow_mode_it_sends_through_messages_send(rick: User) -> None:
    seen: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers["X-API-Key"] == "mf_no_scope":
            return httpx.Response(
                403,
                json={"detail": "Missing scope messages:send"},
                headers={"X-Required-Scopes": "messages:send"},
            )
        return httpx.Response(200, json={"id": "msg_1", "status": "sent"})

    moltflow_client.install_transport(httpx.MockTransport(upstream))
    try:
        source = LocalSource()
        lead = source.get_lead(a_lead(warm=True).id)
        client = MoltflowClient("https://moltflow.test/api/v2", "mf_ok")
        outreach.lead_send_message(
            source, lead, "Hi", rick, cold_confirmed=False, gateway=MoltflowGateway(client)
        )
        assert seen[0].url.path == "/api/v2/messages/send"
        assert json.loads(seen[0].content) == {
            "session_id": str(lead.session_id),
            "chat_id": "972521234567@c.us",
            "message": "Hi",
        }
        other = source.get_lead(a_lead(warm=True).id)
        refused = MoltflowGateway(MoltflowClient("https://moltflow.test/api/v2", "mf_no_scope"))
        with pytest.raises(SendRefused, match="MoltFlow did not send it: .*messages:send"):
            outreach.lead_send_message(
                source, other, "Hi", rick, cold_confirmed=False, gateway=refused
            )
        assert status_of(Lead.objects.get(pk=other.id)) == "new"
    finally:
        moltflow_client.install_transport(None)


# --- roles and CSRF -------------------------------------------------------------------------


def test_a_viewer_reads_the_lead_but_cannot_message_it(waha: FakeWaha) -> None:
    vera = person("vera", VIEWER, "Vera")
    lead = a_lead(warm=True)
    client = signed_in(vera)
    assert "Message on WhatsApp" not in client.get(f"/leads/{lead.id}/").content.decode()
    assert client.get(message_url(lead)).status_code == 403
    assert client.post(message_url(lead), {"text": "Hi"}).status_code == 403
    assert waha.sent == []


def test_a_rep_sees_the_button_on_the_lead_page(rick: User) -> None:
    lead = a_lead(warm=True)
    page = signed_in(rick).get(f"/leads/{lead.id}/").content.decode()
    assert f'href="/leads/{lead.id}/message/" id="message-on-whatsapp"' in page


def test_sending_needs_the_csrf_token(rick: User, waha: FakeWaha) -> None:
    lead = a_lead(warm=True)
    response = signed_in(rick, enforce_csrf_checks=True).post(message_url(lead), {"text": "Hi"})
    assert response.status_code == 403 and waha.sent == []
