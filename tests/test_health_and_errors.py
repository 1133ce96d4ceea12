"""`/healthz` for load balancers, and the 500 page a failure shows (JSON under the API)."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import Client

from tests.urls_failing import SECRET_DETAIL


@pytest.mark.django_db
def test_healthz_answers_ok_with_the_database_reachable(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_healthz_answers_503_naming_the_error_when_the_database_is_unreachable(
    client: Client,
) -> None:
    # A connection to where no database is: a file in a missing folder, or a closed port.
    unreachable = (
        {"NAME": "/nonexistent-folder/leads.sqlite3"}
        if connection.vendor == "sqlite"
        else {"HOST": "127.0.0.1", "PORT": "9", "OPTIONS": {"connect_timeout": 3}}
    )
    working = connections[DEFAULT_DB_ALIAS]
    connections[DEFAULT_DB_ALIAS] = type(working)(
        {**working.settings_dict, **unreachable}, DEFAULT_DB_ALIAS
    )
    try:
        response = client.get("/healthz")
    finally:
        connections[DEFAULT_DB_ALIAS].close()
        connections[DEFAULT_DB_ALIAS] = working

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] and body["database"] != "ok"


def test_healthz_takes_only_get(client: Client) -> None:
    assert client.post("/healthz").status_code == 405


@pytest.mark.urls("tests.urls_failing")
def test_a_failure_under_the_api_answers_json_500_and_hides_the_error() -> None:
    client = Client(raise_request_exception=False)

    response = client.get("/api/v2/test-failure")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "Internal server error; the request was not applied. Try again later."
    }
    assert SECRET_DETAIL not in response.content.decode()


@pytest.mark.urls("tests.urls_failing")
def test_a_failure_on_a_page_answers_the_plain_500_page_and_hides_the_error() -> None:
    client = Client(raise_request_exception=False)

    response = client.get("/leads/test-failure")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "Server Error (500)" in response.content.decode()
    assert SECRET_DETAIL not in response.content.decode()
