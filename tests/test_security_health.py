"""`/healthz` tells anonymous callers that the database is down, never where it lives (issue 12).

The raw driver error names the host, port, database and user; load balancers only need to
know that it failed, and the operator finds the rest in the log.
"""

import logging

import pytest
from django.db import connection
from django.test import Client


def test_a_working_database_is_reported_ok(db) -> None:
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_a_failing_database_is_only_called_unavailable_and_the_detail_is_logged(caplog) -> None:
    # No `db` fixture: pytest-django refuses the connection, naming itself in the error.
    with caplog.at_level(logging.ERROR, logger="leads.health"):
        response = Client().get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "database unavailable"}
    assert "Database access not allowed" in caplog.text


@pytest.fixture
def unreachable_postgres(django_db_blocker):
    """The default connection pointed at a port where no PostgreSQL listens."""
    with django_db_blocker.unblock():
        saved = dict(connection.settings_dict)
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT="9", NAME="secret_db_name")
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(saved)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a database server")
def test_an_unreachable_postgres_host_and_port_stay_out_of_the_answer(
    unreachable_postgres, caplog
) -> None:
    with caplog.at_level(logging.ERROR, logger="leads.health"):
        response = Client().get("/healthz")

    assert response.status_code == 503
    assert "9" not in response.text and "127.0.0.1" not in response.text
    assert "secret_db_name" not in response.text
    assert "port 9" in caplog.text
