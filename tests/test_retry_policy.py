"""The retry policy alone: what happened and when in, a pause or "give up" out."""

import email.utils

import httpx
import pytest

from leads.upstream.retry import RetryPolicy, retry_after_seconds

NOW = 1_700_000_000.0
# No jitter, so each pause is exact.
policy = RetryPolicy(max_attempts=3, max_retry_after=5.0, jitter=lambda: 1.0)


def answer(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers)


def test_backoff_doubles_and_stops_at_the_cap() -> None:
    assert [policy.backoff(attempt) for attempt in range(5)] == [0.25, 0.5, 1.0, 2.0, 2.0]


def test_jitter_only_shortens_the_pause() -> None:
    halved = RetryPolicy(jitter=lambda: 0.5)
    assert halved.backoff(1) == 0.25


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH"])
def test_a_connection_never_made_is_retried_for_any_method(method: str) -> None:
    assert policy.after_error(method, 0, httpx.ConnectError("refused")) == 0.25
    assert policy.after_error(method, 1, httpx.ConnectTimeout("slow")) == 0.5
    assert policy.after_error(method, 0, httpx.PoolTimeout("busy")) == 0.25


def test_a_dropped_connection_is_retried_for_a_get_only() -> None:
    dropped = httpx.RemoteProtocolError("closed")
    assert policy.after_error("GET", 0, dropped) == 0.25
    assert policy.after_error("PATCH", 0, dropped) is None


def test_a_read_timeout_is_never_retried() -> None:
    assert policy.after_error("GET", 0, httpx.ReadTimeout("slow")) is None


def test_the_last_attempt_gives_up() -> None:
    assert policy.after_error("GET", 2, httpx.ConnectError("refused")) is None
    assert policy.after_response("GET", 2, answer(503), NOW) is None
    assert policy.single().after_error("GET", 0, httpx.ConnectError("refused")) is None


def test_a_429_waits_its_retry_after_for_any_method() -> None:
    assert policy.after_response("PATCH", 0, answer(429, **{"Retry-After": "3"}), NOW) == 3.0


def test_a_429_asking_for_longer_than_the_cap_gives_up() -> None:
    assert policy.after_response("GET", 0, answer(429, **{"Retry-After": "30"}), NOW) is None


def test_a_429_without_retry_after_backs_off() -> None:
    assert policy.after_response("GET", 1, answer(429), NOW) == 0.5


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_gateway_failure_is_retried_for_a_get_only(status: int) -> None:
    assert policy.after_response("GET", 0, answer(status), NOW) == 0.25
    assert policy.after_response("GET", 0, answer(status, **{"Retry-After": "4"}), NOW) == 4.0
    assert policy.after_response("POST", 0, answer(status), NOW) is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 500])
def test_other_refusals_are_final(status: int) -> None:
    assert policy.after_response("GET", 0, answer(status), NOW) is None


def test_retry_after_is_read_as_seconds_or_as_a_date() -> None:
    date = email.utils.formatdate(NOW + 7, usegmt=True)
    assert retry_after_seconds(httpx.Headers({"Retry-After": "2.5"}), NOW) == 2.5
    assert retry_after_seconds(httpx.Headers({"Retry-After": date}), NOW) == 7.0
    assert retry_after_seconds(httpx.Headers({"Retry-After": "soon"}), NOW) is None
    assert retry_after_seconds(httpx.Headers({}), NOW) is None
