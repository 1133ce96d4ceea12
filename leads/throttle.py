"""Login throttling, per account-at-an-address and per address, kept in the shared database.

Two counters are kept for every failed sign-in:
- **account at address**: 5 failures lock that account *from that address only* (1 minute,
  doubling per repeat, at most 15). The person who keeps mistyping is stopped; colleagues
  behind the same office NAT address, and the same account from elsewhere, are not.
- **address**: 30 failures across any accounts (a password spray) slow the whole address
  (30 seconds, doubling, at most 5 minutes). One person cannot reach this alone: while their
  own pair is locked their attempts are refused before they count, and the pair's growing
  locks keep them well under 30 failures in a window.

Every attempt is counted as a failure *before* its password is checked, atomically, so
parallel guesses cannot slip past the threshold; a correct password takes its count back.
A refused attempt checks no password and counts nowhere. A success clears the pair's
counter, never the address's (a sprayer holding one valid account must not reset it).
Addresses are IPv4 addresses or IPv6 /64 networks (one host owns a whole /64). Behind
proxies, `DASHBOARD_PROXY_COUNT` says how many `X-Forwarded-For` hops to trust, and each is
trusted only when handed over by an address in `FORWARDED_ALLOW_IPS`.

The check sits in the authentication backend, so the admin's login form is throttled too.
"""

import functools
import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from leads.models import LoginThrottle


@dataclass(frozen=True)
class Rule:
    """When a counter locks, and for how long."""

    scope: str
    threshold: int
    window: timedelta
    first_lock: timedelta
    max_lock: timedelta


PAIR_RULE = Rule("pair", 5, timedelta(minutes=15), timedelta(minutes=1), timedelta(minutes=15))
ADDRESS_RULE = Rule(
    "address", 30, timedelta(minutes=15), timedelta(seconds=30), timedelta(minutes=5)
)
# Rows untouched for this long are deleted when the next failure is recorded.
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Lockout:
    """A refused sign-in: which counter refused it and for how many more seconds."""

    scope: str
    seconds: int

    def message(self) -> str:
        wait = _readable(self.seconds)
        if self.scope == "address":
            return (
                "Too many failed sign-ins from your network. "
                f"Please wait {wait} before trying again."
            )
        return f"Too many failed sign-ins for this account. Please wait {wait} before trying again."


def _readable(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def client_address(request: HttpRequest) -> str:
    """The address to throttle: `REMOTE_ADDR`, or the trusted hop of `X-Forwarded-For`."""
    return _throttle_key(_forwarded_client(request))


def _forwarded_client(request: HttpRequest) -> str:
    """Walk `X-Forwarded-For` from the right, one hop per `DASHBOARD_PROXY_COUNT`.

    Each hop is believed only when the address that handed it over is one of our proxies
    (`FORWARDED_ALLOW_IPS`): with the app's port reachable directly, anyone can send the
    header, and a forged address per guess would dodge every counter.
    """
    peer = request.META.get("REMOTE_ADDR", "") or "unknown"
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    for _ in range(getattr(settings, "DASHBOARD_PROXY_COUNT", 0)):
        if not forwarded or not is_trusted_proxy(peer):
            break
        peer = forwarded.pop()
    return peer


def is_trusted_proxy(address: str) -> bool:
    """Is `address` one of `FORWARDED_ALLOW_IPS` (addresses or networks; `*` trusts all)?"""
    allowed = tuple(getattr(settings, "FORWARDED_ALLOW_IPS", ()))
    if "*" in allowed:
        return True
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in proxy_networks(allowed))


@functools.cache
def proxy_networks(
    allowed: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """`FORWARDED_ALLOW_IPS` parsed; raises ValueError on an entry that is not an address."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in allowed)


def _throttle_key(address: str) -> str:
    """IPv4 as is; IPv6 as its /64 (one host owns a whole /64); anything else cut short."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _keys(username: str, address: str) -> tuple[tuple[Rule, str], tuple[Rule, str]]:
    account = username.strip().casefold()
    return (
        (PAIR_RULE, _key("pair", account, address)),
        (ADDRESS_RULE, _key("address", address)),
    )


@dataclass(frozen=True)
class Attempt:
    """A sign-in already counted as a failure; `refund` takes it back when the password was right.

    `locked_address` says whether counting this attempt locked the address, so a refund can
    undo a lock that a correct password should never have caused.
    """

    username: str
    address: str
    locked_address: bool


def count_attempt(username: str, address: str) -> Lockout | Attempt:
    """Refuse the attempt (a `Lockout`), or count it as failed *before* any password is checked.

    Both counters are read and written under row locks in one transaction, so parallel guesses
    are judged one after another: however many arrive at once, no more than a threshold's worth
    are let through to a password check. A refused attempt counts nowhere.
    """
    now = timezone.now()
    with transaction.atomic():
        counters = [(rule, _locked_row(key, now)) for rule, key in _keys(username, address)]
        lockout = _worst_lockout(counters, now)
        if lockout is None:
            locked = {rule.scope: _count(rule, row, now) for rule, row in counters}
    if lockout is not None:
        return lockout
    LoginThrottle.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now), updated_at__lt=now - FORGET_AFTER
    ).delete()
    return Attempt(username, address, locked_address=locked[ADDRESS_RULE.scope])


def refund(attempt: Attempt) -> None:
    """A correct password: the account at this address starts afresh, and the address gets its
    one counted failure back (never more: a sprayer holding one valid account must not reset
    it)."""
    (_, pair_key), (_, address_key) = _keys(attempt.username, attempt.address)
    with transaction.atomic():
        LoginThrottle.objects.filter(key=pair_key).delete()
        row = LoginThrottle.objects.select_for_update().filter(key=address_key).first()
        if row is None:
            return
        if attempt.locked_address and row.locked_until is not None:
            row.locked_until = None
            row.lockouts = max(0, row.lockouts - 1)
            row.failures += ADDRESS_RULE.threshold - 1
        else:
            row.failures = max(0, row.failures - 1)
        row.save()


def _locked_row(key: str, now: Any) -> LoginThrottle:
    """The counter's row, created if missing, locked until the transaction ends."""
    row = LoginThrottle.objects.select_for_update().filter(key=key).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return LoginThrottle.objects.create(key=key, updated_at=now, window_started_at=now)
    except IntegrityError:  # another process created it first: count on its row
        return LoginThrottle.objects.select_for_update().get(key=key)


def _worst_lockout(counters: list[tuple[Rule, LoginThrottle]], now: Any) -> Lockout | None:
    worst: Lockout | None = None
    for rule, row in counters:
        if row.locked_until is None or row.locked_until <= now:
            continue
        seconds = max(1, int((row.locked_until - now).total_seconds() + 0.999))
        if worst is None or seconds > worst.seconds:
            worst = Lockout(rule.scope, seconds)
    return worst


def _count(rule: Rule, row: LoginThrottle, now: Any) -> bool:
    """Count one failure on a locked row; True when it locked the counter."""
    if row.updated_at < now - rule.window:
        # A whole quiet window forgives earlier locks: the next lock is short again.
        row.lockouts = 0
    if row.window_started_at < now - rule.window:
        # Failures count in fixed windows from the first one, so a slow trickle of typos
        # never adds up to the threshold over a long day.
        row.failures, row.window_started_at = 0, now
    row.failures += 1
    locks = row.failures >= rule.threshold
    if locks:
        row.lockouts += 1
        lock = min(rule.first_lock * 2 ** (row.lockouts - 1), rule.max_lock)
        row.locked_until = now + lock
        row.failures, row.window_started_at = 0, now
    row.updated_at = now
    row.save()
    return locks


class ThrottledModelBackend(ModelBackend):
    """Django's username/password backend, refusing attempts the throttle has locked.

    A refusal raises PermissionDenied, which stops `authenticate()` (no other backend is
    asked) and leaves the lockout on `request.login_lockout` for the login page to explain.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is None or not username:
            # No request (a management command, a test's authenticate()): nothing to key on.
            return super().authenticate(request, username=username, password=password, **kwargs)
        attempt = count_attempt(username, client_address(request))
        if isinstance(attempt, Lockout):
            request.login_lockout = attempt  # type: ignore[attr-defined]
            raise PermissionDenied(attempt.message())
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            refund(attempt)
        return user


class LockoutExplained:
    """Mixed into an authentication form: a refused attempt says it is locked and how long.

    Django's forms only know "wrong username or password"; after a lockout that is untrue
    (the password was never checked) and sends people guessing again.
    """

    request: HttpRequest | None

    def get_invalid_login_error(self) -> ValidationError:
        lockout = getattr(self.request, "login_lockout", None)
        if lockout is None:
            return super().get_invalid_login_error()  # type: ignore[misc]
        return ValidationError(lockout.message(), code="locked")


class SignInForm(LockoutExplained, AuthenticationForm):
    """The dashboard's `/login/` form."""


class AdminSignInForm(LockoutExplained, AdminAuthenticationForm):
    """The Django admin's sign-in form (set on `admin.site` in leads/admin.py)."""
