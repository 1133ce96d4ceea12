"""No request to /api/v2 produces a 500, and the API describes itself.

Odd bodies, odd query strings, odd paths: each must get a 4xx with a `detail`, on SQLite and
on PostgreSQL (which refuses NUL characters and integers beyond 64 bits).
"""

import json
import uuid

import pytest
from django.test import Client

from leads.models import CustomGroup, Lead, MonitoredGroup
from tests.factories import make_api_key, make_lead, make_session

pytestmark = pytest.mark.django_db

LEAD = "00000000-0000-0000-0000-00000000000a"
GROUP = "00000000-0000-0000-0000-00000000000b"
CUSTOM = "00000000-0000-0000-0000-00000000000c"

MUTATIONS = [
    ("PATCH", f"/api/v2/leads/{LEAD}/status"),
    ("POST", "/api/v2/leads/bulk/status"),
    ("POST", "/api/v2/leads/bulk/add-to-group"),
    ("POST", "/api/v2/sessions"),
    ("POST", "/api/v2/groups"),
    ("PATCH", f"/api/v2/groups/{GROUP}"),
    ("POST", "/api/v2/custom-groups"),
]

ODD_BODIES = {
    "array": "[]",
    "string": '"x"',
    "null": "null",
    "number": "42",
    "huge number": "1" + "0" * 5000,
    "float overflow": "1e999",
    "truncated": '{"status": ',
    "deep nesting": "[" * 10000 + "]" * 10000,
    "empty": "",
    "not utf-8": b"\xff\xfe\x00{",
    "nul in every field": json.dumps(
        {
            "status": "lost\x00",
            "lead_ids": [LEAD],
            "custom_group_id": CUSTOM,
            "name": "a\x00b",
            "session_id": "\x00",
            "wa_group_id": "1\x00@g.us",
            "monitor_keywords": ["\x00"],
            "members": [{"phone": "+1555\x00", "name": "\x00"}],
        }
    ),
    "wrong types": json.dumps(
        {
            "status": ["lost"],
            "lead_ids": {"a": 1},
            "custom_group_id": 7,
            "name": {"x": 1},
            "session_id": 12,
            "wa_group_id": None,
            "monitor_keywords": "price",
            "members": [1, 2],
            "is_active": "maybe",
        }
    ),
    "huge strings": json.dumps(
        {
            "status": "x" * 100_000,
            "name": "x" * 100_000,
            "monitor_keywords": ["x" * 100_000],
            "members": [{"phone": "9" * 100_000}],
        }
    ),
    "lone surrogate": '{"name": "\\ud800", "status": "\\ud800"}',
    "huge ids": json.dumps({"lead_ids": [10**30], "custom_group_id": 10**30, "status": "lost"}),
}

CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded", ""]


@pytest.fixture
def client(api_key):
    """A client that returns a 500 as a response, so the assertion can name the request."""
    return Client(headers={"X-API-Key": api_key[1]}, raise_request_exception=False)


@pytest.fixture
def existing(db):
    group = MonitoredGroup.objects.create(
        id=GROUP, session=make_session(), wa_group_id="120363000000000001@g.us", name="Group"
    )
    lead = make_lead(group)
    Lead.objects.filter(pk=lead.pk).update(id=LEAD)
    CustomGroup.objects.create(id=CUSTOM, name="Hot buyers")


def assert_no_server_error(response) -> None:
    """A 2xx or a 4xx, in JSON; an error says what went wrong in `detail`."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code < 500, content[:300]
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json"), content[:300]
        assert "detail" in json.loads(content)


@pytest.mark.parametrize(("method", "path"), MUTATIONS)
@pytest.mark.parametrize("body", list(ODD_BODIES), ids=list(ODD_BODIES))
def test_an_odd_body_never_gets_a_500(client, existing, method, path, body):
    raw = ODD_BODIES[body]

    response = client.generic(method, path, raw, content_type="application/json")

    assert_no_server_error(response)


@pytest.mark.parametrize(("method", "path"), MUTATIONS)
@pytest.mark.parametrize("raw", ["[]", '"x"', "null", "42", "true", '[{"name": "x"}]'])
def test_a_body_that_is_not_a_json_object_is_400_on_every_endpoint(
    client, existing, method, path, raw
):
    before = MonitoredGroup.objects.get(pk=GROUP).updated_at

    response = client.generic(method, path, raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": "The request body must be a JSON object."}
    assert MonitoredGroup.objects.get(pk=GROUP).updated_at == before


@pytest.mark.parametrize(("method", "path"), MUTATIONS)
@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_a_valid_body_under_an_odd_content_type_never_gets_a_500(
    client, existing, method, path, content_type
):
    response = client.generic(method, path, "status=lost&name=x", content_type=content_type)

    assert_no_server_error(response)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/leads?limit=99999999999999999999999",
        "/api/v2/leads?offset=99999999999999999999999",
        "/api/v2/leads?offset=9223372036854775808",
        "/api/v2/leads?limit=-0x10",
        "/api/v2/leads?limit=NaN",
        "/api/v2/leads?search=%00",
        "/api/v2/leads?search=a%00b",
        "/api/v2/leads?search=%FF%FE",
        "/api/v2/leads?status=new%00",
        "/api/v2/leads?status=",
        "/api/v2/leads?source_group_id=%00",
        "/api/v2/leads?source_group_id=" + "f" * 10_000,
        "/api/v2/leads/export/csv?search=%00",
        "/api/v2/leads/export/json?search=a%00",
        "/api/v2/leads/export/csv?status=everything",
        f"/api/v2/leads/{'9' * 40}",
        "/api/v2/leads/%00",
        f"/api/v2/leads/{LEAD}/reciprocity?session_id=%00",
        f"/api/v2/leads/{LEAD}/reciprocity?session_id={10**40}",
        "/api/v2/groups/not-a-uuid",
        "/api/v2/custom-groups/%F0%9F%98%80",
    ],
)
def test_an_odd_query_never_gets_a_500(client, existing, path):
    response = client.get(path)

    assert_no_server_error(response)


def test_an_offset_far_past_the_end_is_an_empty_page_not_an_error(client, existing):
    response = client.get("/api/v2/leads?offset=9223372036854775807")

    assert response.status_code == 200
    assert response.json()["leads"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v2/nothing-here"),
        ("GET", "/api/v2/leads/export/xml"),
        ("POST", "/api/v2/leads/bulk/delete"),
        ("GET", f"/api/v2/leads/{LEAD}/history"),
        ("DELETE", "/api/v2/webhooks/1"),
        ("GET", "/api/v2/leads/"),
    ],
)
def test_an_unknown_path_under_the_api_is_a_json_404(db, method, path):
    response = Client().generic(method, path)

    assert response.status_code == 404
    assert response.json() == {"detail": f"No such endpoint: {method} {path}"}


def test_the_openapi_document_is_served_without_a_key_and_lists_every_path(db):
    response = Client().get("/api/v2/openapi.json")

    assert response.status_code == 200
    document = response.json()
    paths = {
        path: sorted(method.upper() for method in operations)
        for path, operations in document["paths"].items()
    }
    assert paths == {
        "/api/v2/leads": ["GET"],
        "/api/v2/leads/{lead_id}": ["GET"],
        "/api/v2/leads/{lead_id}/status": ["PATCH"],
        "/api/v2/leads/{lead_id}/reciprocity": ["GET"],
        "/api/v2/leads/bulk/status": ["POST"],
        "/api/v2/leads/bulk/add-to-group": ["POST"],
        "/api/v2/leads/export/csv": ["GET"],
        "/api/v2/leads/export/json": ["GET"],
        "/api/v2/sessions": ["GET", "POST"],
        "/api/v2/groups": ["GET", "POST"],
        "/api/v2/groups/{group_id}": ["GET", "PATCH"],
        "/api/v2/custom-groups": ["GET", "POST"],
        "/api/v2/custom-groups/{group_id}": ["DELETE", "GET", "PATCH"],
        "/api/v2/custom-groups/{group_id}/members/{phone}": ["DELETE"],
    }


def test_the_openapi_document_says_how_to_authenticate(db):
    document = Client().get("/api/v2/openapi.json").json()

    assert "X-API-Key" in document["info"]["description"]
    assert "Bearer" in document["info"]["description"]


def test_a_key_for_an_unknown_path_is_not_needed_to_learn_it_is_unknown(db):
    _, raw_key = make_api_key([])

    response = Client(headers={"X-API-Key": raw_key}).get(f"/api/v2/sessions/{uuid.uuid4()}")

    assert response.status_code == 404


def test_a_wrong_method_on_a_known_path_is_a_json_405_naming_the_allowed_ones(db):
    response = Client().delete("/api/v2/leads")

    assert response.status_code == 405
    assert response.json() == {"detail": "DELETE is not allowed here; use GET."}
    assert response["Allow"] == "GET"


def test_patching_the_status_of_a_lead_called_bulk_is_the_bulk_routes_405(api):
    # "/leads/bulk/status" is also the bulk route (POST only); the document says 405.
    response = api.patch(
        "/api/v2/leads/bulk/status", {"status": "contacted"}, content_type="application/json"
    )

    assert response.status_code == 405
    assert response.json() == {"detail": "PATCH is not allowed here; use POST."}
