"""Schemathesis, driven by the served OpenAPI document, finds the API keeps its word.

Every operation under /api/v2 gets generated requests — valid ones, invalid ones and the
boundaries between — with a key holding every scope, against the WSGI app in-process. Each
response must be no 5xx, carry a status the document lists for that operation, have the
documented content type, and match the documented schema.

Seeded ids are fed to the generator (schemathesis dictionaries) so that a fair share of the
requests reach a real lead, group, custom group or session instead of stopping at a 404.
"""

import os
from datetime import timedelta

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck

from leads.models import (
    CustomGroup,
    CustomGroupMember,
    InboundMessage,
    Lead,
    MonitoredGroup,
    Session,
)
from tests.factories import make_api_key, make_lead, make_session

pytestmark = pytest.mark.django_db

RAW_KEY = "mf_schemathesis0000000000000000000000000000"
# Examples per operation: 30 keeps the whole suite within its five minutes on a 2-core
# machine (60 took about half of it). For a deeper search, raise it for one run:
#   SCHEMATHESIS_MAX_EXAMPLES=300 .venv/bin/pytest tests/test_api_schemathesis.py
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "30"))
# 17 operations, nearly all of which make every example they are allowed.
MIN_REQUESTS = 16 * MAX_EXAMPLES

SESSIONS = [
    "5e551011-0000-4000-8000-000000000001",
    "5e551011-0000-4000-8000-000000000002",
]
GROUPS = [
    "96009000-0000-4000-8000-000000000001",
    "96009000-0000-4000-8000-000000000002",
]
CUSTOM_GROUPS = [
    "c0570000-0000-4000-8000-000000000001",
    "c0570000-0000-4000-8000-000000000002",
]
LEADS = [f"1ead0000-0000-4000-8000-{n:012d}" for n in range(1, 9)]


def binding(dictionary: str, probability: float = 0.7) -> dict[str, object]:
    return {"dictionary": dictionary, "probability": probability}


CONFIG = schemathesis.Config.from_dict(
    {
        # Schemathesis's WSGI transport does not undo gzip (real HTTP clients do); the
        # compression itself is tested in test_compression.
        "headers": {"X-API-Key": RAW_KEY, "Accept-Encoding": "identity"},
        "generation": {"max-examples": MAX_EXAMPLES},
        "dictionaries": {
            "sessions": {"values": SESSIONS},
            "groups": {"values": GROUPS},
            "custom-groups": {"values": CUSTOM_GROUPS},
            "leads": {"values": LEADS},
            "group-ids": {"values": GROUPS + CUSTOM_GROUPS},
        },
        "parameters": {
            "path.lead_id": binding("leads"),
            "query.session_id": binding("sessions"),
            "query.source_group_id": binding("groups", 0.5),
            "body.session_id": binding("sessions"),
            "body.custom_group_id": binding("custom-groups"),
            "body.lead_ids[*]": binding("leads"),
            "path.group_id": binding("group-ids"),
        },
        "operations": [
            {
                # A request the document cannot fault may still be refused with 400 for the
                # state it meets (CONTRACT §1): a status move the state machine forbids, a
                # session name or group already taken, a body over the upload limit.
                "include-method": ["POST", "PATCH"],
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "400", "401", "403", "404", "429"]
                    }
                },
            }
        ],
    }
)


@pytest.fixture
def seeded(db) -> None:
    """Two sessions, two monitored groups with leads, two custom groups, one inbound DM."""
    sessions = [make_session(f"phone-{n}") for n in (1, 2)]
    for session, session_id in zip(sessions, SESSIONS, strict=True):
        Session.objects.filter(pk=session.pk).update(id=session_id)
    for n, group_id in enumerate(GROUPS):
        MonitoredGroup.objects.create(
            id=group_id,
            session_id=SESSIONS[n],
            wa_group_id=f"12036300000000000{n}@g.us",
            name=f"Buyers {n}",
            monitor_keywords=["price", "looking for"],
        )
    statuses = ["new", "contacted", "qualified", "converted", "lost"]
    for n, lead_id in enumerate(LEADS):
        lead = make_lead(
            MonitoredGroup.objects.get(pk=GROUPS[n % 2]),
            status=statuses[n % len(statuses)],
            name="דנה לוי" if n % 3 == 0 else f"Contact {n}",
            phone=None if n == 7 else f"+97252123{n:04d}",
        )
        Lead.objects.filter(pk=lead.pk).update(id=lead_id)
    for n, group_id in enumerate(CUSTOM_GROUPS):
        group = CustomGroup.objects.create(id=group_id, name=f"Outreach {n}")
        CustomGroupMember.objects.create(group=group, phone="+972521230000", name="Dana")
    InboundMessage.objects.create(
        session_id=SESSIONS[0],
        wa_message_id="dm-1",
        contact_jid="972521230000@c.us",
        contact_phone="+972521230000",
        body="Hi, about the price",
        received_at=timezone.now() - timedelta(hours=1),
    )


def in_process_app() -> WSGIHandler:
    """Django's WSGI handler, as a server would run it (all middleware included)."""
    return WSGIHandler()


schema = schemathesis.openapi.from_wsgi("/api/v2/openapi.json", in_process_app(), config=CONFIG)
OPERATIONS = {result.ok().label for result in schema.get_all_operations()}


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """The handler closes "old" connections when a request starts and finishes; inside the
    test's transaction that would drop the seeded data. Django's own test client does this."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def mirror(seeded, settings) -> None:
    """Seeded data, a key with every scope (RAW_KEY), and no rate limit."""
    settings.MIRROR_RATE_LIMITS = False
    key, _ = make_api_key()
    key.set_raw_key(RAW_KEY)
    key.save()


@pytest.fixture(scope="module")
def sent():
    """Every generated request, by operation: a whole run sends at least MIN_REQUESTS."""
    requests: dict[str, int] = {}
    yield requests
    if set(requests) == OPERATIONS:
        total = sum(requests.values())
        assert total >= MIN_REQUESTS, f"only {total} generated requests were sent: {requests}"


@schema.parametrize()
# Seeded once per operation and shared by its generated requests, on purpose: later requests
# meet what earlier ones wrote (a lead already moved on, a name already taken).
@hypothesis.settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_generated_request_gets_an_answer_the_document_describes(case, mirror, sent):
    label = case.operation.label
    sent[label] = sent.get(label, 0) + 1

    case.call_and_validate()


# What the generated requests found, pinned down so it stays fixed.


def test_every_operation_documents_every_error_status_and_how_to_authenticate(client):
    document = client.get("/api/v2/openapi.json").json()

    assert document["components"]["securitySchemes"]["KeyAuth"]["name"] == "X-API-Key"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"400", "401", "403", "404", "422", "429"} <= statuses, f"{method} {path}"
            invalid = operation["responses"]["422"]["content"]["application/json"]["schema"]
            assert invalid == {"$ref": "#/components/schemas/ValidationErrorOut"}
            assert operation["security"] == [{"KeyAuth": []}]


def test_the_csv_export_is_documented_as_csv(client):
    document = client.get("/api/v2/openapi.json").json()

    success = document["paths"]["/api/v2/leads/export/csv"]["get"]["responses"]["200"]
    assert list(success["content"]) == ["text/csv"]


def test_a_body_over_the_upload_limit_is_a_json_400(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"name": "Outreach", "members": [{"phone": f"+1555{n:07d}"} for n in range(100)]}

    response = api.post("/api/v2/custom-groups", body, "application/json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request body is larger than the 1000 bytes this API accepts."
    }
    assert not CustomGroup.objects.exists()


@pytest.mark.parametrize("phone", [" ", "\t\n", "\u3000", "\x1c"])
def test_a_blank_member_phone_is_refused_as_the_document_says(api, phone):
    body = {"name": "Outreach", "members": [{"phone": phone}]}

    response = api.post("/api/v2/custom-groups", body, "application/json")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "phone"


def test_a_name_is_trimmed_after_it_is_checked(api):
    response = api.post("/api/v2/sessions", {"name": "  Sales phone  "}, "application/json")

    assert response.status_code == 201
    assert response.json()["name"] == "Sales phone"


@pytest.mark.parametrize("field", ["name", "session_id", "monitor_keywords", "is_active"])
def test_a_null_in_a_group_update_is_a_validation_error(api, field):
    group = MonitoredGroup.objects.create(
        session=make_session(), wa_group_id="120363000000000009@g.us", name="Keep me"
    )

    response = api.patch(f"/api/v2/groups/{group.id}", {field: None}, "application/json")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field
    group.refresh_from_db()
    assert group.name == "Keep me"
