"""The process's one pooled `httpx.Client`, and the time the clients read and wait on.

Connections are reused across requests and threads. Tests and benchmarks swap the
transport (and the clock) with `install_transport`.
"""

import threading
import time
from collections.abc import Callable

import httpx

USER_AGENT = "leads-dashboard/0.1 (+MoltFlow API v2 client)"
# Connect fails fast (an unreachable host is not worth waiting on); read allows a slow page.
DEFAULT_TIMEOUT = httpx.Timeout(connect=3.0, read=10.0, write=10.0, pool=3.0)
# While MoltFlow is known to be down, a read is one short probe of it.
PROBE_TIMEOUT = httpx.Timeout(connect=0.5, read=0.8, write=0.8, pool=0.5)
_POOL_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=16, keepalive_expiry=30)
_HEADERS = {"User-Agent": USER_AGENT, "Accept": "application/json"}

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
                    headers=_HEADERS,
                    follow_redirects=False,
                )
    return _http


def process_clock() -> Callable[[], float]:
    """The clock this process's clients read (real, unless a test installed its own)."""
    return _clock


def process_sleep() -> Callable[[float], None]:
    """How this process's clients wait (really, unless a test installed its own)."""
    return _sleep


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
                headers=_HEADERS,
                follow_redirects=False,
            )
    if old is not None:
        old.close()
