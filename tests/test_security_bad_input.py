"""Malformed input that used to be a 500 is a clear 400 (issue 12).

A lone UTF-16 surrogate in a webhook's JSON, MoltFlow's `event` as a list, and a date at the
end of the calendar on every page that filters by date.
"""

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from leads.models import Lead, Session
from leads.roles import MANAGER, set_user_role
from tests.factories import make_lead
from tests.test_waha_webhook import envelope, group_message
from tests.test_webhook_moltflow import lead_object
from tests.webhooks import post_moltflow, post_waha

pytestmark = pytest.mark.django_db

SURROGATE = b'"\\ud83d"'  # the JSON escape of half an emoji


def test_a_lone_surrogate_in_waha_json_is_a_400_so_waha_stops_retrying() -> None:
    Session.objects.create(name="default")
    body = envelope("message", group_message("120363000000000001@g.us", "PLACEHOLDER"))
    encoded = json.dumps(body).encode().replace(b'"PLACEHOLDER"', SURROGATE)

    response = post_waha(Client(), encoded)

    assert response.status_code == 400
    assert "surrogate" in response.json()["detail"]


def test_a_lone_surrogate_in_moltflow_json_is_a_400() -> None:
    body = {"event": "lead.detected", "data": lead_object(contact_name="PLACEHOLDER")}
    encoded = json.dumps(body).encode().replace(b'"PLACEHOLDER"', SURROGATE)

    response = post_moltflow(Client(), encoded)

    assert response.status_code == 400
    assert "surrogate" in response.json()["detail"]
    assert not Lead.objects.exists()


def test_a_moltflow_event_name_that_is_not_a_string_is_a_400() -> None:
    for event in (["x"], {"a": 1}, 7):
        response = post_moltflow(Client(), {"event": event, "data": lead_object()})

        assert response.status_code == 400
        assert response.json() == {"detail": "The event name must be a string."}
    assert not Lead.objects.exists()


@pytest.fixture
def manager() -> Client:
    user = User.objects.create_user("mona", password="pw")
    set_user_role(user, MANAGER)
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
@pytest.mark.parametrize(
    "path",
    ["/leads/", "/leads/board/", "/leads/export/csv/", "/leads/export/json/"],
)
def test_a_date_at_the_end_of_the_calendar_is_a_clear_400(manager, path, day) -> None:
    make_lead()

    for field in ("detected_to", "detected_from"):
        response = manager.get(path, {field: day})

        assert response.status_code == 400, (path, field)
        assert "is out of range: choose a date from 1900-01-01 to 2999-12-31" in response.text


def test_a_bulk_action_over_a_filter_at_the_end_of_the_calendar_is_a_400(manager) -> None:
    lead = make_lead()
    response = manager.post(
        reverse("leads:bulk"),
        {"query": "detected_to=9999-12-31", "action": "status", "status": "lost", "lead": lead.id},
    )

    assert response.status_code == 400
    assert "out of range" in response.text
    assert Lead.objects.get().lead_status == "new"


def test_the_activity_page_with_a_date_at_the_end_of_the_calendar_is_a_400(manager) -> None:
    for field in ("date_to", "date_from"):
        response = manager.get("/activity/", {field: "9999-12-31"})

        assert response.status_code == 400
        assert "out of range" in response.text


def test_dates_within_the_range_still_filter(manager) -> None:
    make_lead(name="Dana Levi")

    response = manager.get("/leads/", {"detected_from": "1900-01-01", "detected_to": "2999-12-31"})

    assert response.status_code == 200
    assert "Dana Levi" in response.text
