"""The shared cache: Django's Redis backend, falling back to this process's memory while
Redis cannot be reached.

Everything kept in the cache can be rebuilt (MoltFlow reads, the rate budget, the wall's
snapshots), so a Redis outage must not turn pages into 500s. Django's own Redis backend has
no option to ignore connection errors (django-redis's `IGNORE_EXCEPTIONS` turns them into
misses, but an `add` that answers "no" would then hold every single-flight caller until its
deadline). Instead, on a Redis error this backend logs once and answers from a local-memory
cache for `RETRY_SECONDS`, then tries Redis again: the process behaves as it does without
`REDIS_URL` (reads, budget and single-flight per process) instead of waiting on a dead
socket for every call.

What must not be trusted from a process's own memory asks `is_unreachable` and fails
closed: the live lane's ticket epoch (`leads.live_lane`), where a sign-out made in another
process could otherwise be missed.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import BaseCache
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Writes to batch: key -> (value, timeout in seconds or None for no expiry).
Writes = dict[str, tuple[Any, float | None]]

# Per process, per Redis location: until when (monotonic seconds) Redis is not tried.
_down_until: dict[str, float] = {}


class FallbackRedisCache(RedisCache):
    """`RedisCache` that answers from local memory while Redis is unreachable."""

    RETRY_SECONDS = 5.0
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._location = server
        local = {key: value for key, value in params.items() if key != "OPTIONS"}
        self._fallback = LocMemCache(f"redis-fallback:{self._location}", local)

    def unreachable(self) -> bool:
        """Is Redis known to be unreachable right now (answers come from local memory)?"""
        return self.clock() < _down_until.get(self._location, 0.0)

    def _either(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._guarded(
            lambda: getattr(super(FallbackRedisCache, self), name)(*args, **kwargs),
            lambda: getattr(self._fallback, name)(*args, **kwargs),
        )

    def _guarded(self, on_redis: Callable[[], Any], on_local: Callable[[], Any]) -> Any:
        if not self.unreachable():
            try:
                answer = on_redis()
            except RedisError as error:
                if self._location not in _down_until:
                    logger.warning(
                        "Redis at %s is unreachable (%s); using this process's memory, "
                        "retrying every %g s",
                        self._location,
                        error,
                        self.RETRY_SECONDS,
                    )
                _down_until[self._location] = self.clock() + self.RETRY_SECONDS
            else:
                if _down_until.pop(self._location, None) is not None:
                    logger.warning("Redis at %s is reachable again", self._location)
                return answer
        return on_local()

    def _redis_serializer(self) -> Any:
        # Django's own, so values written here read back through `get` and the reverse.
        return self._cache._serializer  # type: ignore[attr-defined]

    def _expiry(self, timeout: float | None) -> int | None:
        seconds = self.get_backend_timeout(timeout)
        return None if seconds is None else int(seconds)

    def add_and_get_many(
        self, key: str, value: Any, timeout: float | None, keys: list[str]
    ) -> tuple[bool, dict[str, Any]]:
        """`add(key, value)`, then `get_many(keys)`: one round trip to Redis."""

        def on_redis() -> tuple[bool, dict[str, Any]]:
            serializer = self._redis_serializer()
            pipe = self._cache.get_client(write=True).pipeline(transaction=False)
            pipe.set(
                self.make_and_validate_key(key),
                serializer.dumps(value),
                ex=self._expiry(timeout),
                nx=True,
            )
            pipe.mget([self.make_and_validate_key(k) for k in keys])
            added, values = pipe.execute()
            found = {
                k: serializer.loads(v) for k, v in zip(keys, values, strict=True) if v is not None
            }
            return bool(added), found

        return self._guarded(
            on_redis,
            lambda: (self._fallback.add(key, value, timeout), self._fallback.get_many(keys)),
        )

    def write_many(self, sets: Writes, deletes: list[str]) -> None:
        """Set each key to its (value, timeout) and delete `deletes`: one round trip to Redis."""

        def on_redis() -> None:
            serializer = self._redis_serializer()
            pipe = self._cache.get_client(write=True).pipeline(transaction=False)
            for key, (value, timeout) in sets.items():
                pipe.set(
                    self.make_and_validate_key(key),
                    serializer.dumps(value),
                    ex=self._expiry(timeout),
                )
            if deletes:
                pipe.delete(*(self.make_and_validate_key(key) for key in deletes))
            pipe.execute()

        self._guarded(on_redis, lambda: _write_each(self._fallback, sets, deletes))

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._either("add", key, value, timeout, version)

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._either("get", key, default, version)

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._either("set", key, value, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._either("touch", key, timeout, version)

    def delete(self, key: Any, version: Any = None) -> Any:
        return self._either("delete", key, version)

    def get_many(self, keys: Any, version: Any = None) -> Any:
        return self._either("get_many", keys, version)

    def has_key(self, key: Any, version: Any = None) -> Any:
        return self._either("has_key", key, version)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> Any:
        return self._either("incr", key, delta, version)

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._either("set_many", data, timeout, version)

    def delete_many(self, keys: Any, version: Any = None) -> Any:
        return self._either("delete_many", keys, version)

    def clear(self) -> Any:
        self._fallback.clear()
        return self._either("clear")


def add_and_get_many(
    cache: BaseCache, key: str, value: Any, timeout: float | None, keys: list[str]
) -> tuple[bool, dict[str, Any]]:
    """`cache.add(key, value, timeout)` and then `cache.get_many(keys)`, batched when it can."""
    if isinstance(cache, FallbackRedisCache):
        return cache.add_and_get_many(key, value, timeout, keys)
    return bool(cache.add(key, value, timeout)), cache.get_many(keys)


def write_many(cache: BaseCache, sets: Writes, deletes: list[str]) -> None:
    """Set each key to its (value, timeout) and delete `deletes`, batched when it can."""
    if isinstance(cache, FallbackRedisCache):
        cache.write_many(sets, deletes)
    else:
        _write_each(cache, sets, deletes)


def _write_each(cache: BaseCache, sets: Writes, deletes: list[str]) -> None:
    for key, (value, timeout) in sets.items():
        cache.set(key, value, timeout)
    if deletes:
        cache.delete_many(deletes)


def is_unreachable(cache: BaseCache) -> bool:
    """Is `cache` a shared cache answering from one process's memory right now?"""
    unreachable = getattr(cache, "unreachable", None)
    return bool(unreachable()) if callable(unreachable) else False
