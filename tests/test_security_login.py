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

from leads.throttle import ADDRESS_RULE, PAIR_RULE

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
