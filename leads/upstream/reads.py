"""The short read cache every process shares, with one upstream call per read at a time.

A read is cached for `cache_seconds` under a key made of its path and parameters, tagged
with the account's version: a write bumps the version (`invalidate`), so no process serves
a read from before its own write. While one caller fetches a read, the others asking for it
wait for that answer (no stampede when twenty screens refresh at once). A failed fetch is
remembered briefly, and answered with the read's last good data when there is some: that is
what screens show, marked stale, while MoltFlow cannot be reached.
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

from django.core.cache import BaseCache

from leads.deadline import Deadline
from leads.sources.errors import RateLimited, Unavailable

# How long a read's last good answer is kept to show (marked stale) during an outage.
LAST_GOOD_SECONDS = 24 * 60 * 60
# How long a failed fetch is answered from memory instead of tried again.
FAILURE_SECONDS = 2.0
# How often a caller waiting on a peer's fetch looks for its answer.
POLL_SECONDS = 0.02

Fetch = Callable[[Deadline], Any]


class SharedReads:
    """The read cache of one account: keys under `prefix` in `cache`."""

    def __init__(
        self,
        cache: BaseCache,
        prefix: str,
        *,
        cache_seconds: float,
        deadline_seconds: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.cache = cache
        self.prefix = prefix
        self.version_key = f"{prefix}:version"
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
    ) -> Any:
        """The cached answer to GET `path`, else `fetch(deadline)`'s, shared with every process.

        `timed_out` makes the error for a peer's fetch that outlived our deadline.
        """
        request_id = json.dumps([path, sorted(params.items())])
        value_key = f"{self.prefix}:get:{hashlib.sha256(request_id.encode()).hexdigest()[:32]}"
        lock_key = f"{value_key}:lock"
        # Waiting on a peer's call is bounded by our own deadline, like making the call.
        deadline = Deadline.after(self.deadline_seconds, self.clock)
        while True:
            version, entry = self._lookup(value_key)
            if entry is not None:
                return self._replay_or_last_good(value_key, entry)
            # `add` is atomic in every cache backend: one caller per key fetches.
            if self.cache.add(lock_key, 1, int(self.deadline_seconds) + 1):
                try:
                    # The holder before us may have stored the answer since we looked.
                    version, entry = self._lookup(value_key)
                    if entry is not None:
                        return self._replay_or_last_good(value_key, entry)
                    return self._fetch_into(value_key, version, fetch, deadline)
                finally:
                    self.cache.delete(lock_key)
            if deadline.remaining() <= 0:
                # The peer's call outlived the deadline: it failed as ours would have.
                return self._replay_or_last_good(value_key, _failure_entry(version, timed_out()))
            self.sleep(POLL_SECONDS)

    def _lookup(self, value_key: str) -> tuple[str, dict[str, Any] | None]:
        """The current version, and the cached entry when it belongs to that version."""
        found = self.cache.get_many([self.version_key, value_key])
        version = found.get(self.version_key, "0")
        entry = found.get(value_key)
        if entry is not None and entry.get("version") == version:
            return version, entry
        return version, None

    def _fetch_into(self, value_key: str, version: str, fetch: Fetch, deadline: Deadline) -> Any:
        try:
            data = fetch(deadline)
        except (Unavailable, RateLimited) as error:
            # Screens waiting on this call, and those refreshing right after, get the same
            # answer at once instead of each waiting a timeout.
            entry = _failure_entry(version, error)
            self.cache.set(value_key, entry, min(FAILURE_SECONDS, self.cache_seconds))
            return self._replay_or_last_good(value_key, entry)
        # The version read before the call: if a write bumps it meanwhile, this entry is
        # already stale and nobody will serve it.
        self.cache.set(value_key, {"version": version, "data": data}, self.cache_seconds)
        self.cache.set(f"{value_key}:last-good", data, LAST_GOOD_SECONDS)
        return data

    def _replay_or_last_good(self, value_key: str, entry: dict[str, Any]) -> Any:
        """A cached answer; for a cached failure, the last good answer when there is one."""
        if entry.get("error") == "unavailable":
            last_good = self.cache.get(f"{value_key}:last-good")
            if last_good is not None:
                return last_good
        return _replay(entry)


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
