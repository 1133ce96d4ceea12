"""The short read cache every process shares, with one upstream call per read at a time.

Each read (path and parameters) has one entry in the shared cache, tagged with the
account's version: a write bumps the version (`invalidate`), so no process serves a read
from before its own write. An entry is fresh for `cache_seconds` and then kept, as the
read's last good data, for `LAST_GOOD_SECONDS`: that is what screens show, marked stale,
while MoltFlow cannot be reached. A failed fetch is remembered briefly in the same entry.

One caller per read fetches (an atomic `add` of a lock). The others asking meanwhile
answer with the entry when it has merely aged (the fetch in flight will renew it), and wait
for the fetch when there is nothing of this version to show. While the plan's budget is
short (`RateState.is_short`), a read that has an aged entry answers with it instead of
spending a request; the budget's last requests go to changes and to reads with nothing to
show. A rate-limited or failed fetch also answers with the entry's data when it has some.

A miss costs three round trips to Redis: look up (version, entry, budget state); take the
lock and look again; store the entry and the budget and release the lock
(`leads.shared_cache` batches each step into one pipeline).
"""

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeGuard

from django.core.cache import BaseCache

from leads.deadline import Deadline
from leads.shared_cache import Writes, add_and_get_many, write_many
from leads.sources.errors import RateLimited, Unavailable
from leads.upstream.budget import RateState

# How long a read's last good answer is kept to show (marked stale) during an outage.
LAST_GOOD_SECONDS = 24 * 60 * 60
# How long a failed fetch is answered from memory instead of tried again.
FAILURE_SECONDS = 2.0
# How often a caller waiting on a peer's fetch looks for its answer.
POLL_SECONDS = 0.02

# Called with the deadline, the budget state read with the entry, and the writes to batch
# with the entry's (the budget's new state).
Fetch = Callable[[Deadline, dict[str, Any], Writes], Any]


# (fetched at, fresh until) of each read's data answered.
Served = list[tuple[float, float]]
_fetch_times: ContextVar[Served | None] = ContextVar("read_fetch_times", default=None)


@contextmanager
def served_fetch_times() -> Iterator[Served]:
    """Collect (fetched at, fresh until) of each read answered inside (how old a page is)."""
    times: Served = []
    token = _fetch_times.set(times)
    try:
        yield times
    finally:
        _fetch_times.reset(token)


def _served(entry: dict[str, Any]) -> Any:
    """The entry's answer, noting when its data was fetched for `served_fetch_times`."""
    answer = _answer(entry)
    times, fetched_at = _fetch_times.get(), entry.get("fetched_at")
    if times is not None and fetched_at is not None:
        times.append((fetched_at, entry.get("fresh_for_until", entry["fresh_until"])))
    return answer


class SharedReads:
    """The read cache of one account: keys under `prefix` in `cache`."""

    def __init__(
        self,
        cache: BaseCache,
        prefix: str,
        *,
        state_key: str,
        cache_seconds: float,
        deadline_seconds: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.cache = cache
        self.prefix = prefix
        self.version_key = f"{prefix}:version"
        self.state_key = state_key
        self.cache_seconds = cache_seconds
        self.deadline_seconds = deadline_seconds
        self.clock = clock
        self.sleep = sleep

    def invalidate(self) -> None:
        """Make every cached read of this account stale, in every process."""
        self.cache.set(self.version_key, uuid.uuid4().hex, None)

    def read(
        self,
        path: str,
        params: dict[str, str],
        fetch: Fetch,
        timed_out: Callable[[], Unavailable],
        *,
        fresh_for: float | None = None,
    ) -> Any:
        """The cached answer to GET `path`, else `fetch`'s, shared with every process.

        `timed_out` makes the error for a peer's fetch that outlived our deadline;
        `fresh_for` replaces `cache_seconds` for this read.
        """
        request_id = json.dumps([path, sorted(params.items())])
        key = f"{self.prefix}:get:{hashlib.sha256(request_id.encode()).hexdigest()[:32]}"
        lock_key = f"{key}:lock"
        # Waiting on a peer's call is bounded by our own deadline, like making the call.
        deadline = Deadline.after(self.deadline_seconds, self.clock)
        while True:
            version, entry, state = self._lookup(key)
            if self._fresh(entry, version):
                return _served(entry)
            # Take the lock and look again at once: the holder before us may have stored
            # the answer since we looked.
            locked, found = add_and_get_many(
                self.cache, lock_key, 1, int(self.deadline_seconds) + 1, self._keys(key)
            )
            if locked:
                writes: Writes = {}
                try:
                    version, entry, state = self._found(found, key)
                    if self._fresh(entry, version):
                        return _served(entry)
                    if self._current(entry, version) and RateState.of(state).is_short(self.clock()):
                        return _served(entry)  # deferred: the budget is kept for changes
                    fresh = self.cache_seconds if fresh_for is None else fresh_for
                    return self._fetch_into(
                        key, version, entry, fetch, deadline, state, writes, fresh
                    )
                finally:
                    write_many(self.cache, writes, [lock_key])
            if self._current(entry, version):
                return _served(entry)  # aged, not outdated by a write: the peer renews it
            if deadline.remaining() <= 0:
                # The peer's call outlived the deadline: it failed as ours would have.
                return _served(_failed(entry, version, timed_out(), self.clock()))
            self.sleep(POLL_SECONDS)

    def _keys(self, key: str) -> list[str]:
        return [self.version_key, key, self.state_key]

    def _lookup(self, key: str) -> tuple[str, dict[str, Any] | None, dict[str, Any]]:
        """The current version, the read's entry, and the budget state, in one round trip."""
        return self._found(self.cache.get_many(self._keys(key)), key)

    def _found(
        self, found: dict[str, Any], key: str
    ) -> tuple[str, dict[str, Any] | None, dict[str, Any]]:
        state = dict(found.get(self.state_key) or {})
        return found.get(self.version_key, "0"), found.get(key), state

    def _current(self, entry: dict[str, Any] | None, version: str) -> TypeGuard[dict[str, Any]]:
        """Has the entry data from this version (aged, maybe, but not outdated by a write)?"""
        return entry is not None and entry.get("version") == version and "data" in entry

    def _fresh(self, entry: dict[str, Any] | None, version: str) -> TypeGuard[dict[str, Any]]:
        return (
            entry is not None
            and entry.get("version") == version
            and self.clock() < entry.get("fresh_until", 0.0)
        )

    def _fetch_into(
        self,
        key: str,
        version: str,
        entry: dict[str, Any] | None,
        fetch: Fetch,
        deadline: Deadline,
        state: dict[str, Any],
        writes: Writes,
        fresh_seconds: float,
    ) -> Any:
        try:
            data = fetch(deadline, state, writes)
        except (Unavailable, RateLimited) as error:
            # The failure was noted in the shared health already (an answer that came back
            # 200 and then failed to parse included): a success's note must not undo it.
            writes.pop(self.state_key, None)
            # Screens waiting on this call, and those refreshing right after, get the same
            # answer at once instead of each waiting a timeout.
            failed = _failed(entry, version, error, self.clock())
            failed["fresh_until"] = self.clock() + min(FAILURE_SECONDS, self.cache_seconds)
            writes[key] = (failed, LAST_GOOD_SECONDS)
            return _served(failed)
        # The version read before the call: if a write bumps it meanwhile, this entry is
        # already stale and nobody will serve it as fresh.
        fresh_until = self.clock() + fresh_seconds
        entry = {
            "version": version,
            "fresh_until": fresh_until,
            "fetched_at": self.clock(),
            "data": data,
        }
        writes[key] = (entry, LAST_GOOD_SECONDS)
        _served(entry)
        return data


def _failed(
    entry: dict[str, Any] | None, version: str, error: Unavailable | RateLimited, now: float
) -> dict[str, Any]:
    """An entry remembering `error`, keeping the last good data the read had."""
    failure: dict[str, Any] = {
        "kind": "rate_limited" if isinstance(error, RateLimited) else "unavailable",
        "detail": error.detail,
        "retry_after": error.retry_after,
    }
    if isinstance(error, Unavailable):
        failure["since"] = error.since
        failure["status_code"] = error.status_code
    failed: dict[str, Any] = {"version": version, "fresh_until": now, "failure": failure}
    if entry is not None and "data" in entry:
        failed["data"] = entry["data"]
        failed["fetched_at"] = entry.get("fetched_at")
        failed["fresh_for_until"] = entry.get("fresh_until", now)
    return failed


def _answer(entry: dict[str, Any]) -> Any:
    """An entry's data; for a failure, the last good data when MoltFlow is unavailable."""
    failure = entry.get("failure")
    if failure is None:
        return entry["data"]
    if "data" in entry:
        return entry["data"]
    if failure["kind"] == "rate_limited":
        raise RateLimited(failure["detail"], retry_after=failure.get("retry_after"))
    raise Unavailable(
        failure["detail"],
        since=failure.get("since"),
        retry_after=failure.get("retry_after"),
        status_code=failure.get("status_code"),
    )
