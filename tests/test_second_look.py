"""Second look: on-topic messages intent mode set aside, judged by a manager in one click."""

import io
import json
from datetime import timedelta
from itertools import count

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from leads.detection import GroupMessageIn, ingest_group_message
from leads.models import Lead, MonitoredGroup, SetAsideMessage
from leads.roles import MANAGER, REP, set_user_role
from tests.factories import make_group

_ids = count(1)
PAGE = "/leads/second-look/"


def message(body: str, phone: str = "+972521234567") -> GroupMessageIn:
    return GroupMessageIn(
        wa_message_id=f"look-{next(_ids)}",
        sender_jid=f"{phone.lstrip('+')}@c.us",
        sender_phone=phone,
        sender_name="Dana <b>Levi</b>",
        body=body,
        sent_at=timezone.now() - timedelta(minutes=1),
    )


def client_for(role: str, username: str) -> Client:
    user = User.objects.create_user(username, password="pw")
    set_user_role(user, role)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager(db: None) -> Client:
    return client_for(MANAGER, "alice")


@pytest.fixture
def group(db: None) -> MonitoredGroup:
    return make_group(mode="intent", keywords=["price", "מחיר"])


def test_an_on_topic_seller_is_set_aside_with_why(group: MonitoredGroup) -> None:
    ingest_group_message(group, message("Selling my iPhone 14, price 2500"))
    item = SetAsideMessage.objects.get()
    assert (item.matched_keyword, item.decision) == ("price", "")
    assert item.reasons == ["offers something"]
    assert not Lead.objects.exists()


def test_off_topic_messages_and_leads_are_not_set_aside(group: MonitoredGroup) -> None:
    ingest_group_message(group, message("Good morning everyone"))
    ingest_group_message(group, message("What's the price of the sofa?", "+15550000001"))
    assert not SetAsideMessage.objects.exists()
    assert Lead.objects.count() == 1


def test_keyword_mode_sets_nothing_aside(db: None) -> None:
    keyword_group = make_group(mode="keywords", keywords=["weather"])
    ingest_group_message(keyword_group, message("Selling umbrellas, nice weather for it"))
    assert not SetAsideMessage.objects.exists()


def test_a_manager_sees_it_and_makes_it_a_lead_in_one_click(
    manager: Client, group: MonitoredGroup
) -> None:
    ingest_group_message(group, message("Reminder: no price lists here"))
    item = SetAsideMessage.objects.get()
    html = manager.get(PAGE).content.decode()
    assert "Reminder: no price lists here" in html
    assert "Dana &lt;b&gt;Levi&lt;/b&gt;" in html  # a member's name is escaped

    response = manager.post(f"{PAGE}{item.pk}/", {"decision": "lead"})
    assert response.status_code == 302
    lead = Lead.objects.get()
    assert (lead.source_group, lead.matched_keyword, lead.lead_score) == (group, "price", 50)
    assert lead.lead_reasons[0] == "judged a buyer on second look"
    item.refresh_from_db()
    assert (item.decision, item.lead, item.decided_by.username) == ("lead", lead, "alice")
    assert "Reminder" not in manager.get(PAGE).content.decode()


def test_not_a_lead_is_kept_as_a_labelled_example(manager: Client, group: MonitoredGroup) -> None:
    ingest_group_message(group, message("מוכר אייפון, מחיר 1800"))
    item = SetAsideMessage.objects.get()
    manager.post(f"{PAGE}{item.pk}/", {"decision": "not_lead"})
    item.refresh_from_db()
    assert item.decision == "not_lead"
    assert not Lead.objects.exists()


def test_a_second_decision_changes_nothing(manager: Client, group: MonitoredGroup) -> None:
    ingest_group_message(group, message("Selling my bike, price 100"))
    item = SetAsideMessage.objects.get()
    manager.post(f"{PAGE}{item.pk}/", {"decision": "not_lead"})
    response = manager.post(f"{PAGE}{item.pk}/", {"decision": "lead"}, follow=True)
    assert "already decided" in response.content.decode()
    assert not Lead.objects.exists()


def test_bad_input_is_refused_without_a_500(manager: Client, group: MonitoredGroup) -> None:
    ingest_group_message(group, message("Selling my bike, price 100"))
    item = SetAsideMessage.objects.get()
    assert manager.post(f"{PAGE}{item.pk}/", {"decision": "maybe"}).status_code == 302
    assert manager.post(f"{PAGE}999999/", {"decision": "lead"}).status_code == 302
    assert manager.get(f"{PAGE}{item.pk}/").status_code == 405
    item.refresh_from_db()
    assert item.decision == ""


def test_a_rep_may_not_take_a_second_look(group: MonitoredGroup) -> None:
    rep = client_for(REP, "bob")
    ingest_group_message(group, message("Selling my bike, price 100"))
    item = SetAsideMessage.objects.get()
    assert rep.get(PAGE).status_code == 403
    assert rep.post(f"{PAGE}{item.pk}/", {"decision": "lead"}).status_code == 403
    assert not Lead.objects.exists()


def test_the_decision_needs_a_csrf_token(group: MonitoredGroup) -> None:
    user = User.objects.create_user("carol", password="pw")
    set_user_role(user, MANAGER)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    ingest_group_message(group, message("Selling my bike, price 100"))
    item = SetAsideMessage.objects.get()
    assert client.post(f"{PAGE}{item.pk}/", {"decision": "lead"}).status_code == 403


def test_decisions_come_out_as_corpus_lines(manager: Client, group: MonitoredGroup) -> None:
    ingest_group_message(group, message("Selling my bike, price 100"))
    ingest_group_message(group, message("Reminder: no price lists", "+15550000002"))
    first, second = SetAsideMessage.objects.order_by("id")
    manager.post(f"{PAGE}{first.pk}/", {"decision": "not_lead"})
    manager.post(f"{PAGE}{second.pk}/", {"decision": "lead"})
    out = io.StringIO()
    call_command("intent_report", "--reviewed", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["text"], line["lead"]) for line in lines] == [
        ("Selling my bike, price 100", False),
        ("Reminder: no price lists", True),
    ]
