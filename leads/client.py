"""The HTTP client for the MoltFlow API v2 (or any mirror of it, such as this project's own).

- One pooled `httpx.Client` per process, created on first use, so connections are reused
  across requests and threads. Tests swap its transport with `install_transport`.
- Explicit connect and read timeouts, and a total deadline on every call (`leads.deadline`):
  retries, pauses and a slowly dripping answer all fit inside it, so no worker hangs.
- Retries only where repeating cannot do harm: a connection that never reached the server,
  a 429 (the server did nothing; `Retry-After` honoured up to a cap), and 502/503/504 for GET.
  A POST or PATCH that reached the server is never sent twice.
- Every HTTP or transport failure becomes one of `leads.sources.errors`, in `_raise_for` and
  `_transport_error` only.
- Reads go through a short cache shared by every process (Django's cache: Redis with REDIS_URL),
  with one upstream call per key at a time; writes bump a version key so no process serves a
  read from before its own write. The plan's rate budget (`X-RateLimit-*`) is kept in the same
  cache, and a request that would knowingly exceed it waits briefly or raises `RateLimited`.
"""

import email.utils
import hashlib
import json
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from django.core.cache import BaseCache, caches

from leads.deadline import Deadline, DeadlineExceeded, read_within
from leads.sources.errors import (
    BadRequest,
    Forbidden,
    InvalidTransition,
    NotFound,
    RateLimited,
    SourceError,
    Unavailable,
)

logger = logging.getLogger(__name__)

USER_AGENT = "leads-dashboard/0.1 (+MoltFlow API v2 client)"
# Connect fails fast (an unreachable host is not worth waiting on); read allows a slow page.
DEFAULT_TIMEOUT = httpx.Timeout(connect=3.0, read=10.0, write=10.0, pool=3.0)
PROBE_TIMEOUT = httpx.Timeout(connect=0.5, read=0.8, write=0.8, pool=0.5)
_POOL_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=16, keepalive_expiry=30)

_http: httpx.Client | None = None
_http_lock = threading.Lock()
# The time the process's clients read and wait on: real, unless a test installs its own.
_clock: Callable[[], float] = time.time
_sleep: Callable[[float], None] = time.sleep


def shared_http_client() -> httpx.Client:
    """The process's one pooled `httpx.Client`, created on first use."""
    global _http
    if _http is None:
        with _http_lock:
            if _http is None:
                _http = httpx.Client(
                    timeout=DEFAULT_TIMEOUT,
                    limits=_POOL_LIMITS,
                    headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                    follow_redirects=False,
                )
    return _http


def process_clock() -> Callable[[], float]:
    """The clock this process's clients read (real, unless a test installed its own)."""
    return _clock


def install_transport(
    transport: httpx.BaseTransport | None,
    *,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> None:
    """Replace the pooled client by one over `transport` (tests, benchmarks).

    `None` drops it, so the next use opens a real network client again. `clock` and `sleep`
    replace the time that clients made without their own read and wait on (default: real).
    """
    global _http, _clock, _sleep
    _clock, _sleep = clock or time.time, sleep or time.sleep
    with _http_lock:
        old, _http = _http, None
        if transport is not None:
            _http = httpx.Client(
                transport=transport,
                timeout=DEFAULT_TIMEOUT,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                follow_redirects=False,
            )
    if old is not None:
        old.close()


@dataclass(frozen=True)
class RateState:
    """What the upstream last said about this key's budget (shared by all processes)."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # epoch seconds
    down_since: float | None = None  # epoch seconds of the first failure in a row
    down_detail: str | None = None  # what the last failure was, for the screens' banner


_TRANSITION = re.compile(r"Invalid status transition:\s*(\w+)\s*->\s*(\w+)")
_RETRYABLE_GET_STATUSES = frozenset({502, 503, 504})
# Of a request's deadline, what a write leaves for reading back a lead if its answer is lost
# (after a failure, that read is one short probe: see `_request`).
READ_BACK_RESERVE_SECONDS = 2.0
# How long a read's last good answer is kept to show (marked stale) during an outage.
LAST_GOOD_SECONDS = 24 * 60 * 60


def transition_from_detail(detail: str) -> tuple[str, str] | None:
    """(current, target) from the upstream's "Invalid status transition: a -> b" sentence."""
    match = _TRANSITION.search(detail)
    return (match.group(1), match.group(2)) if match else None


class MoltflowClient:
    """Calls one MoltFlow account (base URL + API key) and returns parsed JSON.

    All collaborators are injectable: `http` (an `httpx.Client`, default the pooled one),
    `cache` (default Django's default cache), `sleep` and `clock` (so tests never wait).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        http: httpx.Client | None = None,
        cache: BaseCache | None = None,
        cache_seconds: float = 5.0,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        deadline_seconds: float = 10.0,
        max_attempts: int = 3,
        max_retry_after: float = 5.0,
        max_budget_wait: float = 2.0,
        backoff_base: float = 0.25,
        backoff_cap: float = 2.0,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._http = http
        self._cache = cache
        self.cache_seconds = cache_seconds
        self.timeout = timeout
        self.deadline_seconds = deadline_seconds
        self.max_attempts = max(1, max_attempts)
        self.max_retry_after = max_retry_after
        self.max_budget_wait = max_budget_wait
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.sleep = sleep or _sleep
        self.clock = clock or _clock
        # Cache keys name the account by a hash, never by the raw key.
        account = hashlib.sha256(f"{self.base_url}\n{api_key}".encode()).hexdigest()[:16]
        self._prefix = f"moltflow:{account}"
        self._version_key = f"{self._prefix}:version"
        self._state_key = f"{self._prefix}:state"

    # --- collaborators ------------------------------------------------------------------

    @property
    def http(self) -> httpx.Client:
        """The injected `httpx.Client`, else the process's pooled one."""
        return self._http or shared_http_client()

    @property
    def cache(self) -> BaseCache:
        """The injected cache, else Django's default cache (shared by every process)."""
        return self._cache if self._cache is not None else caches["default"]

    # --- public calls -------------------------------------------------------------------

    def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, cached: bool = True
    ) -> Any:
        """GET `path` and return its JSON; from the shared cache when `cached` and fresh."""
        params = _clean_params(params)
        if not cached or self.cache_seconds <= 0:
            return self._json(self._request("GET", path, params=params))
        return self._cached_get(path, params)

    def send(self, method: str, path: str, body: Any) -> Any:
        """POST/PATCH/PUT/DELETE with a JSON body; returns the JSON answer.

        Whatever the outcome, cached reads are invalidated: even a refusal proves our cached
        picture may be out of date.
        """
        try:
            response = self._request(method, path, json_body=body, deadline=self._write_deadline())
        finally:
            self.invalidate()
        return self._json(response)

    def _write_deadline(self) -> Deadline:
        """A write's deadline, ending early enough to read back what it did if its answer is lost.

        A move whose answer never came is not shown as done or refused on a guess: the caller
        reads the lead back, and that read needs time left inside the same request.
        """
        full = Deadline.after(self.deadline_seconds, self.clock)
        reserve = min(READ_BACK_RESERVE_SECONDS, max(0.0, full.remaining()) / 4)
        return Deadline(at=full.at - reserve, clock=self.clock)

    def invalidate(self) -> None:
        """Make every cached read of this account stale, in every process."""
        self.cache.set(self._version_key, uuid.uuid4().hex, None)

    def rate_state(self) -> RateState:
        """The last known budget and health of this account."""
        state = self.cache.get(self._state_key) or {}
        return RateState(**{k: state.get(k) for k in RateState.__dataclass_fields__})

    def unavailable(self, detail: str, *, status_code: int | None = None) -> Unavailable:
        """An `Unavailable` error, noting the failure so `since` is shared by all processes."""
        since = self._note_down(detail)
        return Unavailable(detail, since=since, status_code=status_code)

    # --- the shared read cache ----------------------------------------------------------

    def _cached_get(self, path: str, params: dict[str, str]) -> Any:
        request_id = json.dumps([path, sorted(params.items())])
        value_key = f"{self._prefix}:get:{hashlib.sha256(request_id.encode()).hexdigest()[:32]}"
        lock_key = f"{value_key}:lock"
        # Waiting on a peer's call is bounded by our own deadline, like making the call.
        deadline = Deadline.after(self.deadline_seconds, self.clock)
        while True:
            version, entry = self._lookup(value_key)
            if entry is not None:
                return self._replay_or_last_good(value_key, entry)
            # One caller per key fetches; the others wait for its answer (no stampede when
            # twenty screens refresh at once). `add` is atomic in every cache backend.
            if self.cache.add(lock_key, 1, int(self.deadline_seconds) + 1):
                try:
                    # The holder before us may have stored the answer since we looked.
                    version, entry = self._lookup(value_key)
                    if entry is not None:
                        return self._replay_or_last_good(value_key, entry)
                    return self._fetch_into(value_key, version, path, params, deadline)
                finally:
                    self.cache.delete(lock_key)
            if deadline.remaining() <= 0:
                # The peer's call outlived the deadline: it failed as ours would have.
                return self._replay_or_last_good(
                    value_key, _failure_entry(version, self._deadline_error())
                )
            self.sleep(0.02)

    def _lookup(self, value_key: str) -> tuple[str, dict[str, Any] | None]:
        """The current version, and the cached entry when it belongs to that version."""
        found = self.cache.get_many([self._version_key, value_key])
        version = found.get(self._version_key, "0")
        entry = found.get(value_key)
        if entry is not None and entry.get("version") == version:
            return version, entry
        return version, None

    def _fetch_into(
        self,
        value_key: str,
        version: str,
        path: str,
        params: dict[str, str],
        deadline: Deadline,
    ) -> Any:
        try:
            data = self._json(self._request("GET", path, params=params, deadline=deadline))
        except (Unavailable, RateLimited) as error:
            # Remember the failure briefly: screens waiting on this call, and those refreshing
            # right after, get the same answer at once instead of each waiting a timeout.
            entry = _failure_entry(version, error)
            self.cache.set(value_key, entry, min(2.0, self.cache_seconds))
            return self._replay_or_last_good(value_key, entry)
        # The version read before the call: if a write bumps it meanwhile, this entry is
        # already stale and nobody will serve it.
        self.cache.set(value_key, {"version": version, "data": data}, self.cache_seconds)
        # The last good answer outlives the short cache: it is what screens show, marked
        # stale (see `health`), while MoltFlow cannot be reached.
        self.cache.set(f"{value_key}:last-good", data, LAST_GOOD_SECONDS)
        return data

    def _replay_or_last_good(self, value_key: str, entry: dict[str, Any]) -> Any:
        """A cached answer; for a cached failure, the last good answer when there is one."""
        if entry.get("error") == "unavailable":
            last_good = self.cache.get(f"{value_key}:last-good")
            if last_good is not None:
                return last_good
        return _replay(entry)

    def health(self) -> RateState | None:
        """The shared state when MoltFlow is failing right now, else None.

        While it is, cached reads answer with the last good data they had, so a screen that
        shows data should also say it is stale: this says since when and why.
        """
        state = self.rate_state()
        return state if state.down_since is not None else None

    # --- rate budget and health -------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        return dict(self.cache.get(self._state_key) or {})

    def _await_budget(self, deadline: Deadline) -> dict[str, Any]:
        state = self._state()
        remaining, reset_at = state.get("remaining"), state.get("reset_at")
        if remaining is not None and remaining <= 0 and reset_at is not None:
            wait = reset_at - self.clock()
            if wait > 0:
                if wait > min(self.max_budget_wait, deadline.remaining()):
                    raise RateLimited(
                        f"The MoltFlow plan's request budget is spent; it resets in {wait:.0f} s.",
                        retry_after=wait,
                    )
                self.sleep(wait)
        return state

    def _note_response(self, response: httpx.Response, state: dict[str, Any]) -> None:
        now = self.clock()
        headers = response.headers
        updated = dict(state)
        limit = _int_header(headers, "X-RateLimit-Limit")
        remaining = _int_header(headers, "X-RateLimit-Remaining")
        reset = _int_header(headers, "X-RateLimit-Reset")
        if limit is not None:
            updated["limit"] = limit
        if remaining is not None:
            updated["remaining"] = remaining
        if reset is not None:
            updated["reset_at"] = now + reset
        if response.status_code == 429:
            updated["remaining"] = 0
            retry_after = retry_after_seconds(headers, now)
            if retry_after is not None:
                updated["reset_at"] = now + retry_after
        if response.status_code >= 500:
            updated["down_since"] = state.get("down_since") or now
        else:
            updated["down_since"] = None
            updated["down_detail"] = None
        if updated != state:
            self.cache.set(self._state_key, updated, 3600)

    def _note_down(self, detail: str) -> datetime:
        state = self._state()
        since = state.get("down_since")
        if since is None or state.get("down_detail") != detail:
            since = since or self.clock()
            updated = {**state, "down_since": since, "down_detail": detail}
            self.cache.set(self._state_key, updated, 3600)
        return datetime.fromtimestamp(since, UTC)

    # --- the request loop ---------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _backoff(self, attempt: int) -> float:
        delay = min(self.backoff_cap, self.backoff_base * (2**attempt))
        # Jitter, so processes that failed together do not retry together.
        return delay * random.uniform(0.5, 1.0)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        deadline: Deadline | None = None,
    ) -> httpx.Response:
        """One call, retried where safe, all of it within `deadline` (default: a fresh one)."""
        method = method.upper()
        deadline = deadline or Deadline.after(self.deadline_seconds, self.clock)
        # While MoltFlow is already known to be down, a read is one short probe: screens
        # show the last good data at once instead of each waiting out timeouts and retries.
        probing = method == "GET" and self._state().get("down_since") is not None
        timeout = PROBE_TIMEOUT if probing else self.timeout
        request = self.http.build_request(
            method,
            self._url(path),
            params=params,
            json=json_body,
            headers={"X-API-Key": self._api_key},
            timeout=timeout,
        )
        attempts = 1 if probing else self.max_attempts
        attempt = 0
        while True:
            if deadline.remaining() <= 0:
                raise self._deadline_error()
            last_try = attempt + 1 >= attempts
            state = self._await_budget(deadline)
            request.extensions["timeout"] = deadline.timeouts(timeout)
            pause: float | None = None
            try:
                response = read_within(self.http.send(request, stream=True), deadline)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                # The request never reached the server: repeating it is safe for any method.
                pause = None if last_try else self._backoff(attempt)
                if not self._may_pause(pause, deadline):
                    raise self._transport_error(error, deadline) from error
            except httpx.RemoteProtocolError as error:
                # A pooled connection the server had closed: safe to repeat for a GET only.
                pause = None if last_try or method != "GET" else self._backoff(attempt)
                if not self._may_pause(pause, deadline):
                    raise self._transport_error(error, deadline) from error
            except httpx.TransportError as error:
                raise self._transport_error(error, deadline) from error
            else:
                self._note_response(response, state)
                status = response.status_code
                if status < 400:
                    return response
                pause = None if last_try else self._retry_pause(method, response, attempt)
                if not self._may_pause(pause, deadline):
                    raise self._raise_for(response)
            assert pause is not None
            self.sleep(pause)
            attempt += 1

    def _retry_pause(self, method: str, response: httpx.Response, attempt: int) -> float | None:
        """How long to wait before repeating this refused call, or None: do not repeat it.

        A 429 did nothing (its `Retry-After` is honoured up to the cap); a 502/503/504 is
        repeated for a GET only, since a write may have been applied.
        """
        retry_after = retry_after_seconds(response.headers, self.clock())
        if response.status_code == 429:
            if retry_after is None:
                return self._backoff(attempt)
            return retry_after if retry_after <= self.max_retry_after else None
        if response.status_code in _RETRYABLE_GET_STATUSES and method == "GET":
            if retry_after is None or retry_after > self.max_retry_after:
                return self._backoff(attempt)
            return retry_after
        return None

    def _may_pause(self, pause: float | None, deadline: Deadline) -> bool:
        """A retry happens only when its pause ends before the deadline does."""
        return pause is not None and pause < deadline.remaining()

    # --- the one place HTTP and transport failures become typed errors ---------------------

    def _deadline_error(self) -> Unavailable:
        return self.unavailable(
            f"MoltFlow did not finish answering within {self.deadline_seconds:g} s."
        )

    def _transport_error(
        self, error: httpx.TransportError, deadline: Deadline | None = None
    ) -> SourceError:
        if isinstance(error, DeadlineExceeded) or (
            deadline is not None
            and isinstance(error, httpx.TimeoutException)
            and deadline.remaining() <= 0.01
        ):
            logger.warning("MoltFlow %s: deadline passed (%s)", self.base_url, error)
            return self._deadline_error()
        if isinstance(error, httpx.ConnectTimeout):
            detail = f"MoltFlow did not accept a connection within {self.timeout.connect} s."
        elif isinstance(error, httpx.ConnectError):
            detail = "Cannot connect to MoltFlow (connection refused or host unreachable)."
        elif isinstance(error, httpx.PoolTimeout):
            detail = "Too many requests to MoltFlow are in flight from this server."
        elif isinstance(error, httpx.ReadTimeout):
            detail = f"MoltFlow did not answer within {self.timeout.read} s."
        elif isinstance(error, httpx.TimeoutException):
            detail = "MoltFlow timed out."
        elif isinstance(error, httpx.RemoteProtocolError):
            detail = "MoltFlow dropped the connection before answering."
        else:
            detail = f"The connection to MoltFlow failed ({type(error).__name__})."
        logger.warning("MoltFlow %s: %s", self.base_url, detail)
        unavailable = self.unavailable(detail)
        # A connection never made, or never taken from the pool, carried nothing upstream.
        unavailable.reached = not isinstance(
            error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
        )
        return unavailable

    def _raise_for(self, response: httpx.Response) -> SourceError:
        status = response.status_code
        detail = _error_detail(response)
        if status == 400:
            transition = transition_from_detail(detail)
            if transition is not None:
                return InvalidTransition(*transition)
            return BadRequest(detail)
        if status == 401:
            return Forbidden(f"MoltFlow refused the API key: {detail}", kind="auth")
        if status == 403:
            scope = response.headers.get("X-Required-Scopes")
            if scope:
                return Forbidden(detail, kind="scope", scope=scope)
            # A count limit ("the Starter plan allows 5 …") reads differently from a gate.
            kind = "limit" if " allows " in detail else "plan"
            return Forbidden(detail, kind=kind)
        if status == 404:
            return NotFound(detail)
        if status == 429:
            return RateLimited(
                f"MoltFlow's rate limit was reached: {detail}",
                retry_after=retry_after_seconds(response.headers, self.clock()),
            )
        if status >= 500:
            logger.warning("MoltFlow %s answered %s: %s", self.base_url, status, detail[:200])
            error = self.unavailable(f"MoltFlow answered {status}.", status_code=status)
            error.retry_after = retry_after_seconds(response.headers, self.clock())
            return error
        return BadRequest(f"MoltFlow answered {status}: {detail}")

    def _json(self, response: httpx.Response) -> Any:
        if response.status_code == 204:
            return None  # a DELETE's "done", with no body to read
        try:
            return json.loads(response.content)
        except ValueError:
            raise self.unavailable(
                f"MoltFlow sent a response that is not JSON (HTTP {response.status_code})."
            ) from None


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    return {k: str(v) for k, v in (params or {}).items() if v is not None and v != ""}


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


def retry_after_seconds(headers: httpx.Headers, now: float) -> float | None:
    """`Retry-After` in seconds, whether sent as a number or an HTTP date."""
    raw = headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _error_detail(response: httpx.Response) -> str:
    """The upstream's `detail` sentence, or a short excerpt of whatever it sent instead."""
    try:
        body = json.loads(response.content)
    except ValueError:
        text = " ".join(response.text.split())[:200]
        return text or response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        if isinstance(detail, list):
            return "; ".join(
                str(item.get("msg", item)) if isinstance(item, dict) else str(item)
                for item in detail
            )
        return str(detail)
    return str(body)[:200]


def _failure_entry(version: str, error: Unavailable | RateLimited) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "version": version,
        "error": "rate_limited" if isinstance(error, RateLimited) else "unavailable",
        "detail": error.detail,
        "retry_after": error.retry_after,
    }
    if isinstance(error, Unavailable):
        entry["since"] = error.since
        entry["status_code"] = error.status_code
    return entry


def _replay(entry: dict[str, Any]) -> Any:
    if entry.get("error") == "rate_limited":
        raise RateLimited(entry["detail"], retry_after=entry.get("retry_after"))
    if entry.get("error") == "unavailable":
        raise Unavailable(
            entry["detail"],
            since=entry.get("since"),
            retry_after=entry.get("retry_after"),
            status_code=entry.get("status_code"),
        )
    return entry["data"]
