"""API-key authentication, scopes, plan gates and per-key rate limits of the mirror API."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from leads.models import PLAN_LIMITS, PLANS_WITH_BULK, Account, ApiKey, ApiKeyUsage, hash_api_key


class ApiError(Exception):
    """An error the API answers with `{"detail": ...}`, its status and headers."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


@dataclass(frozen=True)
class RateLimit:
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.remaining)),
            "X-RateLimit-Reset": str(self.reset),
        }


def raw_key_from(request: HttpRequest) -> str | None:
    """The key from `X-API-Key`, or from `Authorization: Bearer <token>`."""
    key = request.headers.get("X-API-Key", "").strip()
    if key:
        return key
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


class KeyAuth:
    """Ninja auth callable: a valid, live key holding `scope`, within its rate limit."""

    # Ninja puts this in the OpenAPI document, so clients and generators see how to authenticate.
    openapi_security_schema = {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key (`mf_…`); `Authorization: Bearer mf_…` is accepted too.",
    }

    def __init__(self, scope: str) -> None:
        self.scope = scope

    def __call__(self, request: HttpRequest) -> ApiKey:
        raw_key = raw_key_from(request)
        if raw_key is None:
            raise ApiError(401, "Missing API key: send it as X-API-Key or Authorization: Bearer.")
        key = ApiKey.objects.filter(key_hash=hash_api_key(raw_key)).first()
        if key is None:
            raise ApiError(401, "Invalid API key.")
        if key.is_revoked:
            raise ApiError(401, "This API key has been revoked.")
        if key.is_expired():
            raise ApiError(401, "This API key has expired.")
        account = Account.current()
        request.account = account  # type: ignore[attr-defined]
        rate = None
        if settings.MIRROR_RATE_LIMITS:
            # Counted before the scope check: a refused request is still a request of this
            # key, and its 403 carries the X-RateLimit-* headers like every other answer.
            rate = count_request(key, PLAN_LIMITS[account.plan]["rate"])
            request.rate_limit = rate  # type: ignore[attr-defined]
        if not key.has_scope(self.scope):
            raise ApiError(
                403,
                f"This API key lacks the {self.scope} scope.",
                {"X-Required-Scopes": self.scope},
            )
        if rate is not None:
            if rate.remaining < 0:
                raise ApiError(
                    429,
                    f"Rate limit of {rate.limit} requests per minute exceeded; "
                    f"retry in {rate.reset} s.",
                    {"Retry-After": str(rate.reset)},
                )
        return key


def _window_start(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def count_request(key: ApiKey, limit: int) -> RateLimit:
    """Count one request in the key's current one-minute window (shared by all processes)."""
    now = timezone.now()
    window = _window_start(now)
    with transaction.atomic():
        bumped = ApiKeyUsage.objects.filter(api_key=key, window_start=window).update(
            count=F("count") + 1
        )
        if not bumped:
            try:
                with transaction.atomic():
                    ApiKeyUsage.objects.create(api_key=key, window_start=window, count=1)
            except IntegrityError:  # another process opened the window first
                ApiKeyUsage.objects.filter(api_key=key, window_start=window).update(
                    count=F("count") + 1
                )
            else:
                ApiKeyUsage.objects.filter(api_key=key, window_start__lt=window).delete()
                ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        used = ApiKeyUsage.objects.filter(api_key=key, window_start=window).values_list(
            "count", flat=True
        )[0]
    reset = max(1, int((window + timedelta(minutes=1) - now).total_seconds() + 0.999))
    return RateLimit(limit=limit, remaining=limit - used, reset=reset)


def require_bulk_plan(request: HttpRequest, what: str) -> None:
    """Bulk operations and exports: Pro and Business only (403 otherwise)."""
    account: Account = getattr(request, "account", None) or Account.current()
    if account.plan not in PLANS_WITH_BULK:
        raise ApiError(
            403,
            f"{what} requires the Pro plan or above (this account is on the "
            f"{account.get_plan_display()} plan).",
        )


def require_room(request: HttpRequest, kind: str, existing: int, label: str) -> None:
    """Refuse creating one more monitored/custom group than the plan allows."""
    account: Account = getattr(request, "account", None) or Account.current()
    allowed = PLAN_LIMITS[account.plan][kind]
    if existing >= allowed:
        raise ApiError(
            403,
            f"The {account.get_plan_display()} plan allows {allowed} {label}; "
            "upgrade the plan or remove one first.",
        )
