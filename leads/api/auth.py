"""API-key authentication, scopes, plan gates and per-key rate limits of the mirror API."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Subquery
from django.http import HttpRequest
from django.utils import timezone

from leads.models import PLAN_LIMITS, Account, ApiKey, ApiKeyUsage, hash_api_key


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
        now = timezone.now()
        counting = settings.MIRROR_RATE_LIMITS
        key = key_counting_request(raw_key, now) if counting else key_for(raw_key)
        if key is None:
            raise ApiError(401, "Invalid API key.")
        if key.is_revoked:
            raise ApiError(401, "This API key has been revoked.")
        if key.is_expired(now):
            raise ApiError(401, "This API key has expired.")
        plan = key.account_plan  # type: ignore[attr-defined]
        account = Account(pk=1, plan=plan) if plan else Account.current()
        request.account = account  # type: ignore[attr-defined]
        rate = None
        if counting:
            # Counted (in the key's lookup) before the scope check: a refused request is still
            # a request of this key, and its 403 carries the X-RateLimit-* headers like every
            # other answer.
            rate = _rate_limit(PLAN_LIMITS[account.plan]["rate"], key.window_count, now)  # type: ignore[attr-defined]
            request.rate_limit = rate  # type: ignore[attr-defined]
        if not key.has_scope(self.scope):
            raise ApiError(
                403,
                f"This API key lacks the {self.scope} scope.",
                {"X-Required-Scopes": self.scope},
            )
        if rate is not None and rate.remaining < 0:
            raise ApiError(
                429,
                f"Rate limit of {rate.limit} requests per minute exceeded; "
                f"retry in {rate.reset} s.",
                {"Retry-After": str(rate.reset)},
            )
        return key


def _window_start(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def _rate_limit(limit: int, used: int, now: datetime) -> RateLimit:
    reset = max(1, int((_window_start(now) + timedelta(minutes=1) - now).total_seconds() + 0.999))
    return RateLimit(limit=limit, remaining=limit - used, reset=reset)


_PLAN = Subquery(Account.objects.filter(pk=1).values("plan")[:1])


def key_for(raw_key: str) -> ApiKey | None:
    """The key whose hash matches `raw_key`, with the account's plan: one statement."""
    return (
        ApiKey.objects.annotate(account_plan=_PLAN).filter(key_hash=hash_api_key(raw_key)).first()
    )


def _counting_sql() -> str:
    """Count a request in its key's window and read the key back, in one statement.

    An upsert on the key's one usage row: a new minute resets the count, the same minute adds
    one, and `last_used_at` is stamped. Its RETURNING clause reads the key's own columns and
    the account's plan by primary key, so the key check, the plan and the rate-limit
    bookkeeping cost one round trip on SQLite and PostgreSQL alike. Table and column names
    come from the models, quoted; every value is a parameter.
    """
    qn = connection.ops.quote_name
    keys, usage = qn(ApiKey._meta.db_table), qn(ApiKeyUsage._meta.db_table)
    accounts = qn(Account._meta.db_table)
    key_columns = ", ".join(
        f"(SELECT {qn(field.column)} FROM {keys} WHERE {keys}.id = {usage}.api_key_id) "  # noqa: S608
        f"AS {qn(field.column)}"
        for field in ApiKey._meta.concrete_fields
        if not field.primary_key and field.column is not None  # always: concrete means a column
    )
    return (
        f"INSERT INTO {usage} (api_key_id, window_start, count, last_used_at) "  # noqa: S608
        f"SELECT id, %s, 1, %s FROM {keys} WHERE key_hash = %s "
        "ON CONFLICT (api_key_id) DO UPDATE SET "
        f"count = CASE WHEN {usage}.window_start = EXCLUDED.window_start "
        f"THEN {usage}.count + 1 ELSE 1 END, "
        "window_start = EXCLUDED.window_start, last_used_at = EXCLUDED.last_used_at "
        f"RETURNING api_key_id AS id, count AS window_count, {key_columns}, "
        f"(SELECT plan FROM {accounts} WHERE id = 1) AS account_plan"
    )


def key_counting_request(raw_key: str, now: datetime) -> ApiKey | None:
    """The key whose hash matches `raw_key`, this request counted in its minute window.

    Shared by every process (the row is in the database). Every request made with an
    existing key counts, even one then refused (revoked, expired, lacking the scope).
    """
    adapt = connection.ops.adapt_datetimefield_value
    params = [adapt(_window_start(now)), adapt(now), hash_api_key(raw_key)]
    return next(iter(ApiKey.objects.raw(_counting_sql(), params)), None)


def require_bulk_plan(request: HttpRequest, what: str) -> None:
    """Bulk operations and exports: Pro and Business only (403 otherwise)."""
    account: Account = getattr(request, "account", None) or Account.current()
    if refusal := account.bulk_refusal(what):
        raise ApiError(403, refusal)


def require_room(request: HttpRequest, kind: str, existing: int, label: str) -> None:
    """Refuse creating one more monitored/custom group than the plan allows."""
    account: Account = getattr(request, "account", None) or Account.current()
    if refusal := account.room_refusal(kind, existing, label):
        raise ApiError(403, refusal)
