"""Sign-in throttling: per account at an address, and per address across accounts.

One person mistyping is stopped on their own account from their own address; the office
behind the same address is not. A spray over many accounts slows that address only.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from leads.models import LoginThrottle
from leads.throttle import ADDRESS_RULE, PAIR_RULE, client_address

pytestmark = pytest.mark.django_db

LOGIN = "/login/"
OFFICE = "203.0.113.7"
HOME = "198.51.100.20"


@pytest.fixture
def dana() -> User:
    return User.objects.create_user("dana", password="right-password-1")


@pytest.fixture
def omer() -> User:
    return User.objects.create_user("omer", password="right-password-2")


def attempt(address: str, username: str, password: str):
    return Client(REMOTE_ADDR=address).post(LOGIN, {"username": username, "password": password})


def signed_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.wsgi_request.session


def expire_locks() -> None:
    LoginThrottle.objects.update(locked_until=timezone.now() - timedelta(seconds=1))


def test_the_login_page_signs_in_and_goes_to_next(dana) -> None:
    client = Client()
    assert client.get(LOGIN).status_code == 200
    response = client.post(
        LOGIN, {"username": "dana", "password": "right-password-1", "next": "/activity/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/activity/"


def test_a_next_elsewhere_is_ignored(dana) -> None:
    response = Client().post(
        LOGIN,
        {"username": "dana", "password": "right-password-1", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/leads/"


def test_a_wrong_password_says_so_without_naming_which_part(dana) -> None:
    response = attempt(OFFICE, "dana", "nope")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.text


def test_repeated_failures_lock_the_account_from_that_address_only(dana, omer) -> None:
    for _ in range(PAIR_RULE.threshold):
        attempt(OFFICE, "dana", "wrong")

    refused = attempt(OFFICE, "dana", "right-password-1")
    assert refused.status_code == 429
    assert "Too many failed sign-ins for this account" in refused.text
    assert int(refused["Retry-After"]) > 0
    # The colleague at the next desk, behind the same address, signs in.
    assert signed_in(attempt(OFFICE, "omer", "right-password-2"))
    # Dana herself, from home, signs in.
    assert signed_in(attempt(HOME, "dana", "right-password-1"))


def test_a_locked_attempt_checks_no_password_and_counts_nowhere(dana) -> None:
    for _ in range(PAIR_RULE.threshold):
        attempt(OFFICE, "dana", "wrong")
    before = list(LoginThrottle.objects.values_list("key", "failures"))
    for _ in range(10):
        assert attempt(OFFICE, "dana", "wrong").status_code == 429
    assert list(LoginThrottle.objects.values_list("key", "failures")) == before


def test_the_lock_ends_and_grows_when_failures_go_on(dana) -> None:
    for _ in range(PAIR_RULE.threshold):
        attempt(OFFICE, "dana", "wrong")
    first = LoginThrottle.objects.filter(locked_until__isnull=False).get()
    first_lock = first.locked_until - first.updated_at
    expire_locks()
    for _ in range(PAIR_RULE.threshold):
        attempt(OFFICE, "dana", "wrong")
    second = LoginThrottle.objects.get(pk=first.pk)
    assert second.locked_until - second.updated_at == 2 * first_lock
    expire_locks()
    assert signed_in(attempt(OFFICE, "dana", "right-password-1"))


def test_a_success_clears_the_accounts_count(dana) -> None:
    for _ in range(PAIR_RULE.threshold - 1):
        attempt(OFFICE, "dana", "wrong")
    assert signed_in(attempt(OFFICE, "dana", "right-password-1"))
    for _ in range(PAIR_RULE.threshold - 1):
        attempt(OFFICE, "dana", "wrong")
    assert signed_in(attempt(OFFICE, "dana", "right-password-1"))


def test_a_spray_over_many_accounts_slows_that_address_and_no_other(dana) -> None:
    for n in range(ADDRESS_RULE.threshold):
        attempt(OFFICE, f"user{n}", "Summer2026!")

    refused = attempt(OFFICE, "dana", "right-password-1")
    assert refused.status_code == 429
    assert "from your network" in refused.text
    assert signed_in(attempt(HOME, "dana", "right-password-1"))
    # Slowed, not shut: the address lock is short and ends by itself.
    lock = LoginThrottle.objects.filter(locked_until__isnull=False).get()
    assert lock.locked_until - timezone.now() <= ADDRESS_RULE.first_lock
    expire_locks()
    assert signed_in(attempt(OFFICE, "dana", "right-password-1"))


def travel(seconds: float) -> None:
    """Let time pass for the throttle: every stored moment moves that far into the past."""
    delta = timedelta(seconds=seconds)
    for row in LoginThrottle.objects.all():
        row.updated_at -= delta
        row.window_started_at -= delta
        if row.locked_until:
            row.locked_until -= delta
        row.save()


def test_one_person_mistyping_all_morning_never_locks_the_office(dana, omer) -> None:
    # Dana keeps typing a wrong password for two hours: whenever her own lock ends she
    # tries again until it locks again. Her colleague behind the same address is never
    # stopped, because her refused attempts do not count and her locks keep growing.
    elapsed = 0.0
    while elapsed < 2 * 3600:
        while attempt(OFFICE, "dana", "wrong").status_code != 429:
            pass
        lock = LoginThrottle.objects.filter(locked_until__gt=timezone.now()).get()
        wait = (lock.locked_until - timezone.now()).total_seconds() + 1
        travel(wait)
        elapsed += wait
        assert signed_in(attempt(OFFICE, "omer", "right-password-2"))


def test_the_admin_sign_in_is_throttled_too(dana) -> None:
    User.objects.filter(pk=dana.pk).update(is_staff=True)
    client = Client(REMOTE_ADDR=OFFICE)
    for _ in range(PAIR_RULE.threshold):
        client.post("/admin/login/", {"username": "dana", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "dana", "password": "right-password-1"})
    assert response.status_code == 200  # the admin form again, not a redirect into the admin
    assert "_auth_user_id" not in client.session


def test_usernames_and_addresses_are_not_stored_in_the_clear(dana) -> None:
    attempt(OFFICE, "dana-typed-her-password", "wrong")
    for key in LoginThrottle.objects.values_list("key", flat=True):
        assert len(key) == 64 and "dana" not in key and OFFICE not in key


def test_old_counters_are_forgotten(dana) -> None:
    attempt(OFFICE, "dana", "wrong")
    LoginThrottle.objects.update(updated_at=timezone.now() - timedelta(days=2))
    attempt(HOME, "omer", "wrong")
    assert LoginThrottle.objects.count() == 2  # only the new pair and address remain


def test_an_ipv6_client_is_counted_by_its_64_network() -> None:
    one = Client(REMOTE_ADDR="2001:db8:1:2::10").get(LOGIN).wsgi_request
    other = Client(REMOTE_ADDR="2001:db8:1:2::99").get(LOGIN).wsgi_request
    assert client_address(one) == client_address(other) == "2001:db8:1:2::/64"


def test_forwarded_addresses_count_only_behind_a_configured_proxy(settings) -> None:
    request = (
        Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.20")
        .get(LOGIN)
        .wsgi_request
    )
    assert client_address(request) == "10.0.0.2"
    settings.DASHBOARD_PROXY_COUNT = 1
    settings.FORWARDED_ALLOW_IPS = ["10.0.0.2"]
    # The proxy appended the address it saw; anything before it could be forged.
    assert client_address(request) == "198.51.100.20"


def test_signing_out_needs_a_post(dana) -> None:
    client = Client()
    client.force_login(dana)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/leads/").status_code == 302
