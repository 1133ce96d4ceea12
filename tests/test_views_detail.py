"""The lead detail page and side panel, single status changes and the reciprocity check."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads.models import InboundMessage, Lead, LeadStatusChange
from leads.roles import REP, set_user_role
from tests.factories import make_group, make_lead, make_session

HTMX = {"HX-Request": "true"}


@pytest.fixture
def teammate(db: None) -> User:
    """A rep: reads leads and moves them one at a time."""
    user = User.objects.create_user("bob", password="pw")
    set_user_role(user, REP)
    return user


@pytest.fixture
def client_in(teammate: User) -> Client:
    client = Client()
    client.force_login(teammate)
    return client


def detail_url(lead: Lead) -> str:
    return reverse("leads:detail", args=[lead.id])


def status_url(lead: Lead) -> str:
    return reverse("leads:change-status", args=[lead.id])


def test_it_requires_login(db: None) -> None:
    lead = make_lead()
    response = Client().get(detail_url(lead))
    assert response.status_code == 302


def test_it_shows_the_lead_as_a_page(client_in: Client) -> None:
    lead = make_lead(name="Dana Levi", keyword="price", preview="What's the PRICE of it?")
    response = client_in.get(detail_url(lead))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body
    assert "Dana Levi" in body
    assert "What&#x27;s the <mark>PRICE</mark> of it?" in body
    assert lead.source_group.name in body
    assert "HX-Request" in response["Vary"]


def test_it_shows_the_lead_as_a_side_panel_for_htmx(client_in: Client) -> None:
    lead = make_lead(name="Dana Levi")
    response = client_in.get(detail_url(lead), headers={**HTMX, "HX-Target": "lead-panel"})
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<aside id="lead-panel"')
    assert "Dana Levi" in body
    assert "HX-Request" in response["Vary"]


def test_unknown_lead_is_404(client_in: Client) -> None:
    assert client_in.get("/leads/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_it_rejects_post_on_the_detail(client_in: Client) -> None:
    assert client_in.post(detail_url(make_lead())).status_code == 405


def test_it_offers_only_the_valid_transitions(client_in: Client) -> None:
    body = client_in.get(detail_url(make_lead(status="qualified"))).content.decode()
    assert 'value="converted"' in body
    assert 'value="lost"' in body
    assert 'name="status" value="contacted"' not in body
    final = client_in.get(detail_url(make_lead(status="converted"))).content.decode()
    assert "is final" in final
    assert 'name="status"' not in final


def test_it_shows_the_status_history(client_in: Client, teammate: User) -> None:
    lead = make_lead()
    client_in.post(status_url(lead), {"status": "contacted", "expected_status": "new"})
    body = client_in.get(detail_url(lead)).content.decode()
    assert "bob" in body
    assert "new → contacted" in body


def test_hostile_text_is_escaped(client_in: Client) -> None:
    lead = make_lead(name="<script>alert(1)</script>", keyword="price", preview="<img src=x> price")
    body = client_in.get(detail_url(lead)).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "<img src=x>" not in body
    assert "&lt;img src=x&gt; <mark>price</mark>" in body


def test_it_moves_a_lead_and_redirects(client_in: Client) -> None:
    lead = make_lead()
    response = client_in.post(status_url(lead), {"status": "contacted", "expected_status": "new"})
    assert response.status_code == 302
    assert response["Location"] == detail_url(lead)
    assert Lead.objects.get(pk=lead.pk).lead_status == "contacted"
    change = LeadStatusChange.objects.get(lead=lead)
    assert change.user.username == "bob"


def test_it_moves_a_lead_from_the_panel(client_in: Client) -> None:
    lead = make_lead()
    response = client_in.post(
        status_url(lead),
        {"status": "qualified", "expected_status": "new"},
        headers={**HTMX, "HX-Target": "lead-panel"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<aside id="lead-panel"')
    assert "lead-status-changed" in response["HX-Trigger"]
    assert "Moved to qualified." in body  # the message, out of band
    assert "HX-Request" in response["Vary"]
    assert Lead.objects.get(pk=lead.pk).lead_status == "qualified"


def test_it_refuses_an_invalid_transition(client_in: Client) -> None:
    lead = make_lead(status="converted")
    response = client_in.post(
        status_url(lead), {"status": "new", "expected_status": "converted"}, follow=True
    )
    assert "Not moved: converted is final." in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).lead_status == "converted"


def test_it_refuses_a_stale_change_naming_who_moved_it(client_in: Client) -> None:
    lead = make_lead()
    other = Client()
    carol = User.objects.create_user("carol", password="pw")
    set_user_role(carol, REP)
    other.force_login(carol)
    other.post(status_url(lead), {"status": "lost", "expected_status": "new"})
    response = client_in.post(
        status_url(lead),
        {"status": "contacted", "expected_status": "new"},
        headers={**HTMX, "HX-Target": "lead-panel"},
    )
    body = response.content.decode()
    stale = r"Not moved: it was moved to lost \d+ s ago by carol \(your screen showed new\)\."
    assert re.search(stale, body)
    # The panel re-renders in the lead's true state: lost can only be reopened.
    assert 'name="status" value="new"' in body
    assert Lead.objects.get(pk=lead.pk).lead_status == "lost"


def test_change_status_rejects_get(client_in: Client) -> None:
    assert client_in.get(status_url(make_lead())).status_code == 405


def test_change_status_rejects_an_unknown_status(client_in: Client) -> None:
    assert client_in.post(status_url(make_lead()), {"status": "won"}).status_code == 400


def test_change_status_needs_a_csrf_token(teammate: User) -> None:
    lead = make_lead()
    client = Client(enforce_csrf_checks=True)
    client.force_login(teammate)
    response = client.post(status_url(lead), {"status": "contacted"})
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).lead_status == "new"


def test_a_next_url_elsewhere_is_ignored(client_in: Client) -> None:
    lead = make_lead()
    response = client_in.post(status_url(lead), {"status": "lost", "next": "https://evil.example/"})
    assert response["Location"] == detail_url(lead)


def test_reciprocity_warns_when_the_contact_never_wrote_first(client_in: Client) -> None:
    lead = make_lead()
    url = reverse("leads:reciprocity", args=[lead.id])
    response = client_in.get(url, headers={**HTMX, "HX-Target": "reciprocity"})
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="reciprocity"')
    assert "spam detection" in body
    assert "HX-Request" in response["Vary"]


def test_reciprocity_is_unknown_when_whatsapp_hides_the_number(client_in: Client) -> None:
    lead = make_lead(phone="")
    assert lead.contact_phone is None and lead.contact_jid.endswith("@lid")
    body = client_in.get(reverse("leads:reciprocity", args=[lead.id])).content.decode()
    assert "Unknown: WhatsApp hides this number" in body
    assert "No: they have never written" not in body


def test_reciprocity_asks_for_the_session_when_there_are_several(client_in: Client) -> None:
    lead = make_lead()
    second = make_session()
    make_group(second)
    body = client_in.get(detail_url(lead)).content.decode()
    assert 'name="session"' in body
    InboundMessage.objects.create(
        session=second,
        wa_message_id="m1",
        contact_jid=lead.contact_jid,
        contact_phone=lead.contact_phone,
        received_at=timezone.now(),
    )
    url = reverse("leads:reciprocity", args=[lead.id])
    answer = client_in.get(url, {"session": str(second.id)}).content.decode()
    assert "they wrote to this number directly" in answer
    own = client_in.get(url, {"session": str(lead.source_group.session_id)}).content.decode()
    assert "spam detection" in own
