"""The plan's rate budget and the upstream's health, kept in the shared cache.

Every process reads what MoltFlow last said (`X-RateLimit-*`, a 429's `Retry-After`, the
first failure in a row), so a budget one process spent holds back every other, and every
screen can say since when MoltFlow is down.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from django.core.cache import BaseCache

from leads.deadline import Deadline
from leads.shared_cache import Writes
from leads.sources.errors import RateLimited
from leads.upstream.retry import retry_after_seconds

STATE_SECONDS = 3600


@dataclass(frozen=True)
class RateState:
    """What the upstream last said about this key's budget (shared by all processes)."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # epoch seconds
    down_since: float | None = None  # epoch seconds of the first failure in a row
    down_detail: str | None = None  # what the last failure was, for the screens' banner

    @classmethod
    def of(cls, state: dict[str, Any]) -> "RateState":
        """The typed view of the shared state dict."""
        return cls(**{k: state.get(k) for k in cls.__dataclass_fields__})

    def is_short(self, now: float) -> bool:
        """Is the budget so low that a read with something to show should not spend it?

        The last `reserve` requests before the reset are kept for changes people make and
        for reads with nothing to show yet; a read that has data, however old, waits.
        """
        if self.remaining is None or self.reset_at is None or self.reset_at <= now:
            return False
        return self.remaining <= reserve(self.limit)


def reserve(limit: int | None) -> int:
    """Requests of each budget window kept back from reads that have data to show."""
    return max(3, (limit or 0) // 6)


class RateBudget:
    """The shared budget and health of one account, under `key` in `cache`."""

    def __init__(
        self,
        cache: BaseCache,
        key: str,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        max_wait: float,
    ) -> None:
        self.cache = cache
        self.key = key
        self.clock = clock
        self.sleep = sleep
        self.max_wait = max_wait

    def state(self) -> dict[str, Any]:
        """The shared state as stored (empty before the first answer)."""
        return dict(self.cache.get(self.key) or {})

    def wait_for(self, state: dict[str, Any], deadline: Deadline) -> None:
        """Pause until the budget resets when it is spent and the reset is near; else raise.

        A request that would knowingly exceed the budget is not sent: it would only earn a
        429 and push the reset further away.
        """
        remaining, reset_at = state.get("remaining"), state.get("reset_at")
        if remaining is not None and remaining <= 0 and reset_at is not None:
            wait = reset_at - self.clock()
            if wait > 0:
                if wait > min(self.max_wait, deadline.remaining()):
                    raise RateLimited(
                        f"The MoltFlow plan's request budget is spent; it resets in {wait:.0f} s.",
                        retry_after=wait,
                    )
                self.sleep(wait)

    def note_response(
        self, response: httpx.Response, state: dict[str, Any], into: Writes | None = None
    ) -> dict[str, Any]:
        """Record what `response` says about the budget and health; returns the new state.

        With `into`, the write is added there for the caller to batch with its own.
        """
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
            if into is None:
                self.cache.set(self.key, updated, STATE_SECONDS)
            else:
                into[self.key] = (updated, STATE_SECONDS)
        return updated

    def note_down(self, detail: str) -> datetime:
        """Record a failure; returns since when MoltFlow has been failing (shared)."""
        state = self.state()
        since = state.get("down_since")
        if since is None or state.get("down_detail") != detail:
            since = since or self.clock()
            updated = {**state, "down_since": since, "down_detail": detail}
            self.cache.set(self.key, updated, STATE_SECONDS)
        return datetime.fromtimestamp(since, UTC)


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None
