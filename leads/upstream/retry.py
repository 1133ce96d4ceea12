"""When a failed call to MoltFlow is repeated, and after how long: `RetryPolicy`.

Only where repeating cannot do harm: a connection that never reached the server (any
method), a pooled connection the server had closed (GET only), a 429 (the server did
nothing; `Retry-After` honoured up to a cap), and 502/503/504 for GET. A POST or PATCH that
reached the server is never sent twice. The policy is pure: the caller says what happened
and when, and gets a pause in seconds or `None` (give up); it never sleeps or reads a clock.
"""

import email.utils
import random
from collections.abc import Callable
from dataclasses import dataclass, replace

import httpx

RETRYABLE_GET_STATUSES = frozenset({502, 503, 504})
# Errors raised before the request left: nothing reached the server.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _jitter() -> float:
    # Processes that failed together must not retry together.
    return random.uniform(0.5, 1.0)  # noqa: S311  # spreading retries, not a secret


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a call gets and how long to pause between them."""

    max_attempts: int = 3
    max_retry_after: float = 5.0
    backoff_base: float = 0.25
    backoff_cap: float = 2.0
    # A factor in [0.5, 1] applied to each backoff (tests pass a constant).
    jitter: Callable[[], float] = _jitter

    def single(self) -> "RetryPolicy":
        """The same policy with one attempt only (a probe of an upstream known to be down)."""
        return replace(self, max_attempts=1)

    def backoff(self, attempt: int) -> float:
        """The pause after failed attempt `attempt` (0-based): doubling, capped, jittered."""
        return min(self.backoff_cap, self.backoff_base * (2**attempt)) * self.jitter()

    def after_error(self, method: str, attempt: int, error: httpx.TransportError) -> float | None:
        """The pause before repeating a call that failed in transport, or None: give up."""
        if attempt + 1 >= self.max_attempts:
            return None
        if isinstance(error, NEVER_SENT):
            return self.backoff(attempt)
        if isinstance(error, httpx.RemoteProtocolError) and method == "GET":
            return self.backoff(attempt)
        return None

    def after_response(
        self, method: str, attempt: int, response: httpx.Response, now: float
    ) -> float | None:
        """The pause before repeating a refused call (`now`: epoch seconds), or None.

        A 429 did nothing (its `Retry-After` is honoured up to the cap); a 502/503/504 is
        repeated for a GET only, since a write may have been applied.
        """
        if attempt + 1 >= self.max_attempts:
            return None
        retry_after = retry_after_seconds(response.headers, now)
        if response.status_code == 429:
            if retry_after is None:
                return self.backoff(attempt)
            return retry_after if retry_after <= self.max_retry_after else None
        if response.status_code in RETRYABLE_GET_STATUSES and method == "GET":
            if retry_after is None or retry_after > self.max_retry_after:
                return self.backoff(attempt)
            return retry_after
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
