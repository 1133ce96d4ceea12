"""A total deadline for upstream calls: the whole call, not each read.

httpx's timeouts bound each socket read, so an upstream dripping one byte every two seconds
never trips them and holds a worker for minutes. A `Deadline` bounds the whole call instead:
the client gives no wait (connect, read, retry pause, budget pause) more time than is left,
and `read_within` checks the clock between chunks.

A request's calls share one deadline (`within`, set by `leads.middleware.UpstreamMiddleware`),
so a page making nine calls still answers within the setting, not nine times it.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import httpx

Clock = Callable[[], float]


class DeadlineExceeded(httpx.TimeoutException):
    """The call's total deadline passed while the upstream was still answering."""


@dataclass(frozen=True)
class Deadline:
    """The moment (on `clock`) by which a call must be over."""

    at: float
    clock: Clock = time.monotonic

    @classmethod
    def after(cls, seconds: float, clock: Clock = time.monotonic) -> "Deadline":
        """A deadline `seconds` from now, capped by the current request's own (if any)."""
        request = _request_deadline.get()
        if request is not None:
            seconds = min(seconds, request.remaining())
        return cls(at=clock() + seconds, clock=clock)

    def remaining(self) -> float:
        """Seconds left; zero or less once it has passed."""
        return self.at - self.clock()

    def timeouts(self, timeout: httpx.Timeout) -> dict[str, float | None]:
        """httpx's per-phase timeouts, none longer than what is left (and never zero)."""
        left = max(0.001, self.remaining())
        return {
            phase: left if limit is None else min(limit, left)
            for phase, limit in timeout.as_dict().items()
        }


_request_deadline: ContextVar[Deadline | None] = ContextVar("request_deadline", default=None)


@contextmanager
def within(seconds: float, clock: Clock = time.monotonic) -> Iterator[Deadline]:
    """Every `Deadline.after` inside shares this one (an inner one can only be earlier)."""
    deadline = Deadline.after(seconds, clock)
    token = _request_deadline.set(deadline)
    try:
        yield deadline
    finally:
        _request_deadline.reset(token)


def read_within(response: httpx.Response, deadline: Deadline) -> httpx.Response:
    """The streamed `response` read whole, or `DeadlineExceeded` once time is up.

    Each socket read waits at most what was left when the body started (httpcore reads the
    request's `timeout` extension when the body starts), and the clock is checked after every
    chunk, so a slow drip is cut at the deadline.
    """
    if response.is_stream_consumed:
        return response  # already whole (an in-memory transport read it)
    timeouts = response.request.extensions.get("timeout")
    if isinstance(timeouts, dict):
        timeouts["read"] = max(0.001, min(timeouts.get("read") or 1e9, deadline.remaining()))
    chunks: list[bytes] = []
    try:
        for chunk in response.iter_raw():
            chunks.append(chunk)
            if deadline.remaining() <= 0:
                raise DeadlineExceeded("the answer was still arriving at the deadline")
    finally:
        response.close()
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        content=b"".join(chunks),  # still encoded as sent: the new response decodes it
        request=response.request,
        extensions=response.extensions,
    )
