"""The webhooks are closed by default, and even a signed one obeys the rules people obey.

A webhook without a configured secret refuses every request; `check --deploy` refuses a
secret short enough to guess. A correctly signed MoltFlow event still cannot move a lead
along a step the pipeline forbids, overwrite a status a person set, or add a monitored group
past the plan's limit; a signed WAHA event cannot create a session nobody configured.
"""

import json
import uuid
from typing import Any

import pytest
from django.core import checks
from django.test import Client

from leads.models import Account, Lead, LeadStatusChange, MonitoredGroup, Session
from tests.factories import make_group, make_lead
from tests.test_webhook_moltflow import lead_object
from tests.webhooks import MOLTFLOW_URL, WAHA_URL, post_moltflow, post_waha

pytestmark = pytest.mark.django_db


def detected(lead: Lead, **changes: Any) -> dict[str, Any]:
    """A `lead.detected` event for a lead the store has, with some fields changed."""
    group = lead.source_group
    data = lead_object(
        id=str(lead.id),
        contact_phone=lead.contact_phone,
        contact_name=lead.contact_name,
        source_group={"id": str(group.id), "name": group.name},
    )
    return {"event": "lead.detected", "data": {**data, **changes}}


# --- Closed by default ------------------------------------------------------------------------


def test_without_secrets_both_webhooks_refuse_everything_and_say_why(settings) -> None:
    settings.WAHA_WEBHOOK_SECRET = ""
    settings.MOLTFLOW_WEBHOOK_SECRET = ""
    lead = make_lead(status="converted")
    Session.objects.create(name="default")
    # The example: an anonymous rewrite of a converted lead.
    rewrite = json.dumps(detected(lead, lead_status="new", contact_phone="+15559999999"))
    status = json.dumps(
        {"event": "session.status", "session": "default", "payload": {"status": "FAILED"}}
    )

    answers = {
        MOLTFLOW_URL: Client().post(MOLTFLOW_URL, rewrite, "application/json"),
        WAHA_URL: Client().post(WAHA_URL, status, "application/json"),
    }

    for url, response in answers.items():
        assert response.status_code == 403, url
        assert "is not set on the server" in response.json()["detail"]
    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.lead_status, stored.contact_phone) == ("converted", lead.contact_phone)
    assert Session.objects.get(name="default").status == "STOPPED"


@pytest.mark.parametrize("secret", ["x", "changeme", " " * 40, "s3cret-but-only-31-characters!!"])
def test_check_deploy_fails_on_a_webhook_secret_short_enough_to_guess(settings, secret) -> None:
    settings.WAHA_WEBHOOK_SECRET = secret

    found = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])

    assert "leads.E010" in {message.id for message in found}
    assert any("WAHA_WEBHOOK_SECRET" in message.msg for message in found)


def test_check_deploy_passes_long_secrets_and_closed_webhooks(settings) -> None:
    settings.WAHA_WEBHOOK_SECRET = "k" * 43
    settings.MOLTFLOW_WEBHOOK_SECRET = ""

    found = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])

    assert "leads.E010" not in {message.id for message in found}


# --- Signed, and still bound by the rules -------------------------------------------------------


def test_a_signed_event_cannot_move_a_lead_along_a_forbidden_step() -> None:
    lead = make_lead(status="converted")

    response = post_moltflow(Client(), detected(lead, lead_status="new"))

    assert response.status_code == 200
    assert response.json()["status_kept"] == "Invalid status transition: converted -> new"
    lead.refresh_from_db()
    assert lead.lead_status == "converted"
    assert not LeadStatusChange.objects.exists()


def test_a_signed_event_moves_a_lead_along_an_allowed_step_through_the_services() -> None:
    lead = make_lead(status="contacted")

    response = post_moltflow(Client(), detected(lead, lead_status="qualified"))

    assert response.status_code == 200
    assert "status_kept" not in response.json()
    change = LeadStatusChange.objects.get(lead=lead)
    assert (change.from_status, change.to_status, change.actor_kind) == (
        "contacted",
        "qualified",
        "webhook",
    )


def test_a_signed_event_does_not_overwrite_a_status_a_person_set(api) -> None:
    lead = make_lead(status="new")
    moved = api.patch(
        f"/api/v2/leads/{lead.id}/status", {"status": "contacted"}, "application/json"
    )
    assert moved.status_code == 200

    response = post_moltflow(Client(), detected(lead, lead_status="lost"))  # a pipeline step

    assert response.status_code == 200
    assert "set by a person" in response.json()["status_kept"]
    lead.refresh_from_db()
    assert lead.lead_status == "contacted"
    assert LeadStatusChange.objects.filter(lead=lead).count() == 1


def test_a_signed_event_adds_no_group_past_the_plans_limit() -> None:
    Account.objects.update_or_create(pk=1, defaults={"plan": "free"})  # 2 monitored groups
    make_group()
    make_group()
    event = {"event": "lead.detected", "data": lead_object()}

    response = post_moltflow(Client(), event)

    assert response.status_code == 403
    assert "allows 2 monitored groups" in response.json()["detail"]
    assert MonitoredGroup.objects.count() == 2
    assert not Lead.objects.exists()


def test_a_signed_event_still_lands_in_a_group_that_exists_when_the_plan_is_full() -> None:
    Account.objects.update_or_create(pk=1, defaults={"plan": "free"})
    group = make_group()
    make_group()
    data = lead_object(source_group={"id": str(group.id), "name": group.name})

    response = post_moltflow(Client(), {"event": "lead.detected", "data": data})

    assert (response.status_code, response.json()["status"]) == (200, "created")


def test_a_signed_waha_event_creates_no_session() -> None:
    for n in range(3):
        event = {
            "event": "session.status",
            "session": f"made-up-{uuid.uuid4().hex[:6]}-{n}",
            "payload": {"status": "WORKING"},
        }
        assert post_waha(Client(), event).status_code == 404
    assert not Session.objects.exists()
