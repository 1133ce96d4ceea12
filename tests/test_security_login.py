"""Sign-in under attack (issue 12): parallel guesses, locked admin sign-ins, forged addresses.

The throttle's everyday rules are in test_login_throttle.py; these are the ways a review got
past or around it.
"""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from leads.checks import check_forwarded_allow_ips
from leads.throttle import ADDRESS_RULE, PAIR_RULE, client_address

LOGIN = "/login/"
OFFICE = "203.0.113.7"
GUESSERS = 40


class CountingHasher(MD5PasswordHasher):
    """MD5 (as the suite uses) that counts every password it checks, across threads."""

    algorithm = "counting_md5"
    checks = 0
    lock = threading.Lock()

    def verify(self, password: str, encoded: str) -> bool:
        with CountingHasher.lock:
            CountingHasher.checks += 1
        return super().verify(password, encoded)


@pytest.fixture
def counted_passwords(settings) -> type[CountingHasher]:
    settings.PASSWORD_HASHERS = ["tests.test_security_login.CountingHasher"]
    CountingHasher.checks = 0
    return CountingHasher


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at the same moment, one thread (and database connection) each."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = calls[index]()
        except Exception as error:  # reported by the assertions
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
def test_forty_parallel_wrong_passwords_check_at_most_five(counted_passwords) -> None:
    User.objects.create_user("dana", password="right-password-1")
    counted_passwords.checks = 0

    def guess() -> int:
        client = Client(REMOTE_ADDR=OFFICE)
        return client.post(LOGIN, {"username": "dana", "password": "guess"}).status_code

    codes = race([guess] * GUESSERS)

    assert all(isinstance(code, int) for code in codes), codes
    assert counted_passwords.checks <= PAIR_RULE.threshold
    assert codes.count(200) == counted_passwords.checks  # "wrong password", checked
    assert codes.count(429) == GUESSERS - counted_passwords.checks  # refused unchecked


@pytest.mark.django_db
def test_the_fifth_attempt_may_still_be_the_right_password(counted_passwords) -> None:
    # Counting first must not turn a correct fifth try into a lockout.
    User.objects.create_user("dana", password="right-password-1")
    client = Client(REMOTE_ADDR=OFFICE)
    for _ in range(PAIR_RULE.threshold - 1):
        client.post(LOGIN, {"username": "dana", "password": "wrong"})

    response = client.post(LOGIN, {"username": "dana", "password": "right-password-1"})

    assert response.status_code == 302
    assert counted_passwords.checks == PAIR_RULE.threshold
    for _ in range(PAIR_RULE.threshold - 1):  # and the count starts afresh
        assert client.post(LOGIN, {"username": "dana", "password": "x"}).status_code == 200


@pytest.mark.django_db
def test_a_right_password_as_the_thirtieth_try_from_an_address_does_not_slow_it() -> None:
    User.objects.create_user("dana", password="right-password-1")
    client = Client(REMOTE_ADDR=OFFICE)
    for n in range(ADDRESS_RULE.threshold - 1):
        client.post(LOGIN, {"username": f"user{n}", "password": "Summer2026!"})

    assert (
        client.post(LOGIN, {"username": "dana", "password": "right-password-1"}).status_code == 302
    )
    assert (
        Client(REMOTE_ADDR=OFFICE).post(LOGIN, {"username": "x", "password": "y"}).status_code
        == 200
    )
    # That was the 30th failure counted: now the address is slowed.
    assert (
        Client(REMOTE_ADDR=OFFICE).post(LOGIN, {"username": "x", "password": "y"}).status_code
        == 429
    )


@pytest.mark.django_db
def test_a_locked_admin_sign_in_says_it_is_locked_and_for_how_long() -> None:
    User.objects.create_user("dana", password="right-password-1", is_staff=True)
    client = Client(REMOTE_ADDR=OFFICE)
    for _ in range(PAIR_RULE.threshold):
        client.post("/admin/login/", {"username": "dana", "password": "wrong"})

    response = client.post("/admin/login/", {"username": "dana", "password": "right-password-1"})

    assert "Too many failed sign-ins for this account. Please wait 1 minute" in response.text
    assert "Please enter the correct username and password" not in response.text
    assert "_auth_user_id" not in client.session


def seen_address(remote: str, forwarded: str) -> str:
    request = Client(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded).get(LOGIN).wsgi_request
    return client_address(request)


@pytest.mark.django_db
def test_a_forged_forwarded_header_sent_straight_to_the_app_is_ignored(settings) -> None:
    # The app port is reachable directly: an attacker picks a new "address" per guess.
    settings.DASHBOARD_PROXY_COUNT = 1
    settings.FORWARDED_ALLOW_IPS = ["10.0.0.2"]
    User.objects.create_user("dana", password="right-password-1")

    for n in range(PAIR_RULE.threshold + 1):
        client = Client(REMOTE_ADDR="198.51.100.66", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        response = client.post(LOGIN, {"username": "dana", "password": "wrong"})

    assert response.status_code == 429
    assert seen_address("198.51.100.66", "192.0.2.1") == "198.51.100.66"


@pytest.mark.django_db
def test_the_forwarded_address_counts_when_the_configured_proxy_sent_it(settings) -> None:
    settings.DASHBOARD_PROXY_COUNT = 1
    settings.FORWARDED_ALLOW_IPS = ["10.0.0.2", "10.1.0.0/16"]

    assert seen_address("10.0.0.2", "1.2.3.4, 198.51.100.20") == "198.51.100.20"
    assert seen_address("10.1.7.9", "198.51.100.20") == "198.51.100.20"


@pytest.mark.django_db
def test_behind_two_proxies_each_hop_must_be_a_configured_proxy(settings) -> None:
    settings.DASHBOARD_PROXY_COUNT = 2
    settings.FORWARDED_ALLOW_IPS = ["10.0.0.2", "10.0.0.3"]

    # client → 10.0.0.3 (appends client) → 10.0.0.2 (appends 10.0.0.3) → app
    assert seen_address("10.0.0.2", "6.6.6.6, 198.51.100.20, 10.0.0.3") == "198.51.100.20"
    # the inner hop is not a proxy of ours: what it wrote is not believed
    assert seen_address("10.0.0.2", "6.6.6.6, 203.0.113.9") == "203.0.113.9"


def test_a_proxy_list_with_a_typo_fails_the_system_check(settings) -> None:
    settings.FORWARDED_ALLOW_IPS = ["10.0.0.2", "10.0.0.300"]
    [error] = check_forwarded_allow_ips()
    assert error.id == "leads.E011" and "10.0.0.300" in error.msg
    settings.FORWARDED_ALLOW_IPS = ["10.0.0.2", "10.1.0.0/16", "::1", "*"]
    assert check_forwarded_allow_ips() == []
