"""`POST /webhooks/moltflow`: MoltFlow's lead.detected events land in the store."""

import hashlib
import hmac
import json
import uuid
from typing import Any

import pytest
from django.test import Client

from leads.models import Lead, LeadStatusChange, MonitoredGroup
from leads.sync import MIRROR_SESSION_NAME
from tests.factories import make_group, make_lead
from tests.webhooks import body_of, moltflow_headers

URL = "/webhooks/moltflow"
SECRET = "whsec-test"


def lead_object(**overrides: Any) -> dict[str, Any]:
    lead = {
        "id": str(uuid.uuid4()),
        "contact_phone": "+972521234567",
        "contact_name": "Dana Levi",
        "lead_status": "new",
        "lead_score": 0,
        "lead_detected_at": "2026-11-25T08:00:00.123Z",
        "source_group": {"id": str(uuid.uuid4()), "name": "Real Estate IL"},
        "trigger": {
            "matched_keyword": "מחפש",
            "message_preview": "שלום, אני מחפש דירה",
            "monitor_mode": "keywords",
            "detected_at": "2026-11-25T08:00:00.123Z",
        },
    }
    lead.update(overrides)
    return lead


def post(client: Client, body: Any, **headers: str) -> Any:
    """POST `body`, signed with the configured secret unless headers are given."""
    raw = body_of(body)
    return client.post(
        URL, raw, content_type="application/json", headers=headers or moltflow_headers(raw)
    )


def sign(body: dict[str, Any], secret: str = SECRET) -> tuple[bytes, str]:
    raw = json.dumps(body).encode()
    return raw, hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@pytest.mark.django_db
def test_it_stores_the_detected_lead_under_its_upstream_id(client: Client) -> None:
    lead = lead_object()
    response = post(client, {"event": "lead.detected", "data": lead})
    assert response.status_code == 200
    assert response.json() == {"status": "created", "lead_id": lead["id"]}
    stored = Lead.objects.select_related("source_group__session").get(pk=lead["id"])
    assert (stored.contact_phone, stored.contact_jid) == ("+972521234567", "972521234567@c.us")
    assert stored.matched_keyword == "מחפש"
    assert stored.source_group_id == uuid.UUID(lead["source_group"]["id"])
    assert stored.source_group.session.name == MIRROR_SESSION_NAME


@pytest.mark.django_db
def test_it_accepts_the_lead_under_lead_as_well(client: Client) -> None:
    lead = lead_object()
    assert post(client, {"event": "lead.detected", "lead": lead}).json()["status"] == "created"
    assert post(client, {"data": {"lead": lead}}).json()["status"] == "unchanged"


@pytest.mark.django_db
def test_a_redelivered_event_changes_nothing(client: Client) -> None:
    body = {"event": "lead.detected", "data": lead_object()}
    post(client, body)
    updated_at = Lead.objects.get().updated_at
    response = post(client, body)
    assert response.json()["status"] == "unchanged"
    assert Lead.objects.count() == MonitoredGroup.objects.count() == 1
    assert Lead.objects.get().updated_at == updated_at


@pytest.mark.django_db
def test_a_known_lead_follows_its_upstream_status(client: Client) -> None:
    group = make_group(name="Real Estate IL")
    lead = make_lead(group, status="qualified")
    body = lead_object(
        id=str(lead.id),
        contact_phone=lead.contact_phone,
        lead_status="lost",
        source_group={"id": str(group.id), "name": group.name},
    )
    assert post(client, {"event": "lead.detected", "data": body}).json()["status"] == "updated"
    lead.refresh_from_db()
    assert lead.lead_status == "lost"
    change = LeadStatusChange.objects.get(lead=lead)
    assert (change.from_status, change.to_status, change.actor_kind) == (
        "qualified",
        "lost",
        "webhook",
    )


@pytest.mark.django_db
def test_other_events_are_acknowledged_and_ignored(client: Client) -> None:
    response = post(client, {"event": "session.status", "data": {"status": "WORKING"}})
    assert (response.status_code, response.json()["status"]) == (200, "ignored")
    assert not Lead.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe", b"[1, 2]", b'"lead"'],
    ids=["broken", "not-utf8", "array", "string"],
)
def test_a_body_that_is_not_a_json_object_is_a_400(client: Client, body: bytes) -> None:
    response = post(client, body)
    assert response.status_code == 400
    assert "detail" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "lead",
    [
        None,
        {"id": "not-a-uuid"},
        {k: v for k, v in lead_object().items() if k != "source_group"},
        lead_object(lead_status="archived"),
        lead_object(lead_detected_at="2026-11-25T08:00:00"),  # no time zone
        lead_object(contact_name=["Dana"]),
    ],
    ids=["missing", "bad-id", "no-group", "bad-status", "naive-time", "name-list"],
)
def test_an_event_without_a_valid_lead_is_a_400(client: Client, lead: Any) -> None:
    response = post(client, {"event": "lead.detected", "data": lead})
    assert response.status_code == 400
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_it_only_accepts_post(client: Client) -> None:
    assert client.get(URL).status_code == 405


@pytest.mark.django_db
def test_a_signed_event_is_accepted_when_a_secret_is_set(client: Client, settings: Any) -> None:
    settings.MOLTFLOW_WEBHOOK_SECRET = SECRET
    raw, signature = sign({"event": "lead.detected", "data": lead_object()})
    assert post(client, raw, **{"X-Webhook-Signature": signature}).status_code == 200
    raw, signature = sign({"event": "lead.detected", "data": lead_object()})
    prefixed = post(client, raw, **{"X-Webhook-Signature": f"sha256={signature.upper()}"})
    assert prefixed.status_code == 200
    assert Lead.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("signature", [None, "", "0" * 64, "ünïcode", "wrong-secret"])
def test_an_unsigned_or_wrongly_signed_event_is_refused(
    client: Client, settings: Any, signature: str | None
) -> None:
    settings.MOLTFLOW_WEBHOOK_SECRET = SECRET
    body = {"event": "lead.detected", "data": lead_object()}
    raw, _ = sign(body)
    if signature == "wrong-secret":
        signature = sign(body, "another secret")[1]
    headers = {"X-Webhook-Signature": signature} if signature is not None else {}
    response = client.post(URL, raw, content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_over_long_fields_are_cut_to_fit_rather_than_refused(client: Client) -> None:
    lead = lead_object(
        contact_name="N" * 300,
        source_group={"id": str(uuid.uuid4()), "name": "G" * 300},
    )
    assert post(client, {"event": "lead.detected", "data": lead}).status_code == 200
    stored = Lead.objects.select_related("source_group").get()
    assert (len(stored.contact_name), len(stored.source_group.name)) == (200, 200)
    assert post(client, {"event": "lead.detected", "data": lead}).json()["status"] == "unchanged"
