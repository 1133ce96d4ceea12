"""The HTTP client for the MoltFlow API v2 (or any mirror of it, such as this project's own).

`MoltflowClient` joins the parts in `leads.upstream`, one job each:
- the pooled transport and its timeouts (`transport`), and a total deadline on every call
  (`leads.deadline`): retries, pauses and a slowly dripping answer all fit inside it;
- when a call is repeated (`retry.RetryPolicy`): only where repeating cannot do harm;
- the plan's rate budget and the upstream's health, shared by every process (`budget`);
- the short shared read cache with one upstream call per read at a time (`reads`);
- the one mapping of HTTP and transport failures to `leads.sources.errors` (`errors`).
"""

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
from django.core.cache import BaseCache, caches

from leads.deadline import Deadline, DeadlineExceeded, read_within
from leads.shared_cache import Writes
from leads.sources.errors import SourceError, Unavailable
from leads.upstream import transport
from leads.upstream.budget import RateBudget, RateState
from leads.upstream.errors import (
    deadline_error,
    error_for_response,
    error_for_transport,
    transition_from_detail,
)
from leads.upstream.reads import SharedReads
from leads.upstream.retry import RetryPolicy
from leads.upstream.transport import (
    DEFAULT_TIMEOUT,
    PROBE_TIMEOUT,
    install_transport,
    process_clock,
    shared_http_client,
)

__all__ = [
    "MoltflowClient",
    "RateState",
    "install_transport",
    "process_clock",
    "shared_http_client",
    "transition_from_detail",
]

# Of a request's deadline, what a write leaves for reading back a lead if its answer is lost
# (after a failure, that read is one short probe: see `_request`).
READ_BACK_RESERVE_SECONDS = 2.0

E = TypeVar("E", bound=SourceError)


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
        self.retry = RetryPolicy(
            max_attempts=max(1, max_attempts),
            max_retry_after=max_retry_after,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
        )
        self.max_budget_wait = max_budget_wait
        self.sleep = sleep or transport.process_sleep()
        self.clock = clock or transport.process_clock()
        # Cache keys name the account by a hash, never by the raw key.
        account = hashlib.sha256(f"{self.base_url}\n{api_key}".encode()).hexdigest()[:16]
        self._prefix = f"moltflow:{account}"
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

    @property
    def budget(self) -> RateBudget:
        """This account's shared rate budget and health."""
        return RateBudget(
            self.cache,
            self._state_key,
            clock=self.clock,
            sleep=self.sleep,
            max_wait=self.max_budget_wait,
        )

    @property
    def reads(self) -> SharedReads:
        """This account's shared read cache."""
        return SharedReads(
            self.cache,
            self._prefix,
            state_key=self._state_key,
            cache_seconds=self.cache_seconds,
            deadline_seconds=self.deadline_seconds,
            clock=self.clock,
            sleep=self.sleep,
        )

    # --- public calls -------------------------------------------------------------------

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        cached: bool = True,
        fresh_for: float | None = None,
    ) -> Any:
        """GET `path` and return its JSON; from the shared cache when `cached` and fresh.

        `fresh_for` keeps this read fresh longer than `cache_seconds` (counts, group lists).
        """
        clean = _clean_params(params)
        if not cached or self.cache_seconds <= 0:
            return self._json(self._request("GET", path, params=clean))

        def fetch(deadline: Deadline, state: dict[str, Any], writes: Writes) -> Any:
            response = self._request(
                "GET", path, params=clean, deadline=deadline, state=state, writes=writes
            )
            return self._json(response)

        return self.reads.read(path, clean, fetch, self._deadline_error, fresh_for=fresh_for)

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
        self.reads.invalidate()

    def rate_state(self) -> RateState:
        """The last known budget and health of this account."""
        return RateState.of(self.budget.state())

    def health(self) -> RateState | None:
        """The shared state when MoltFlow is failing right now, else None.

        While it is, cached reads answer with the last good data they had, so a screen that
        shows data should also say it is stale: this says since when and why.
        """
        state = self.rate_state()
        return state if state.down_since is not None else None

    def unavailable(self, detail: str, *, status_code: int | None = None) -> Unavailable:
        """An `Unavailable` error, noting the failure so `since` is shared by all processes."""
        return self._noted(Unavailable(detail, status_code=status_code))

    # --- the request loop ---------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        deadline: Deadline | None = None,
        state: dict[str, Any] | None = None,
        writes: Writes | None = None,
    ) -> httpx.Response:
        """One call, retried where `self.retry` allows, all of it within `deadline`.

        `state` is the shared budget state when the caller has just read it; `writes`, where
        to leave the budget's new state after a success, for the caller to batch.
        """
        method = method.upper()
        deadline = deadline or Deadline.after(self.deadline_seconds, self.clock)
        budget = self.budget
        state = budget.state() if state is None else state
        # While MoltFlow is already known to be down, a read is one short probe: screens
        # show the last good data at once instead of each waiting out timeouts and retries.
        probing = method == "GET" and state.get("down_since") is not None
        timeout = PROBE_TIMEOUT if probing else self.timeout
        retry = self.retry.single() if probing else self.retry
        request = self.http.build_request(
            method,
            self._url(path),
            params=params,
            json=json_body,
            headers={"X-API-Key": self._api_key},
            timeout=timeout,
        )
        attempt = 0
        while True:
            if deadline.remaining() <= 0:
                raise self._deadline_error()
            budget.wait_for(state, deadline)
            request.extensions["timeout"] = deadline.timeouts(timeout)
            try:
                response = read_within(self.http.send(request, stream=True), deadline)
            except httpx.TransportError as error:
                pause = retry.after_error(method, attempt, error)
                if not self._may_pause(pause, deadline):
                    raise self._transport_error(error, deadline) from error
            else:
                ok = response.status_code < 400
                # A failure's note goes out now: `_noted` reads and adds to it below.
                state = budget.note_response(response, state, into=writes if ok else None)
                if ok:
                    return response
                pause = retry.after_response(method, attempt, response, self.clock())
                if not self._may_pause(pause, deadline):
                    raise self._noted(error_for_response(response, self.clock(), self.base_url))
            assert pause is not None
            self.sleep(pause)
            attempt += 1
            state = budget.state()

    def _may_pause(self, pause: float | None, deadline: Deadline) -> bool:
        """A retry happens only when its pause ends before the deadline does."""
        return pause is not None and pause < deadline.remaining()

    # --- typed errors (mapped in `leads.upstream.errors`, noted in the shared health) ------

    def _noted(self, error: E) -> E:
        if isinstance(error, Unavailable) and error.since is None:
            error.since = self.budget.note_down(error.detail)
        return error

    def _deadline_error(self) -> Unavailable:
        return self._noted(deadline_error(self.deadline_seconds))

    def _transport_error(self, error: httpx.TransportError, deadline: Deadline) -> SourceError:
        if isinstance(error, DeadlineExceeded) or (
            isinstance(error, httpx.TimeoutException) and deadline.remaining() <= 0.01
        ):
            return self._deadline_error()
        return self._noted(error_for_transport(error, self.timeout, self.base_url))

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
