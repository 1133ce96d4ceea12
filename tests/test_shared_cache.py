"""The cache MoltFlow's reads and rate budget live in: Redis when `REDIS_URL` is set.

The cross-process tests open two Redis caches, as two app processes would, over the Redis
that `REDIS_URL` names; they are skipped without it (CI sets it).
"""

import os
from collections.abc import Iterator

import httpx
import pytest
from django.core.cache.backends.redis import RedisCache

from dashboard.settings import cache_settings
from leads.client import MoltflowClient
from leads.sources.errors import RateLimited
from tests.settings import worker_redis_url

REDIS_URL = os.environ.get("REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")
BASE = "https://moltflow.test/api/v2"


def test_redis_is_the_cache_when_redis_url_is_set() -> None:
    backend = cache_settings("redis://127.0.0.1:6379/5")["default"]

    assert backend["BACKEND"] == "leads.shared_cache.FallbackRedisCache"
    assert backend["LOCATION"] == "redis://127.0.0.1:6379/5"


def test_local_memory_is_the_cache_by_default_and_no_database_table_is() -> None:
    backend = cache_settings("")["default"]

    assert backend["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_each_xdist_worker_empties_only_its_own_redis_database() -> None:
    assert worker_redis_url("redis://127.0.0.1:6379/9", "gw0") == "redis://127.0.0.1:6379/9"
    assert worker_redis_url("redis://127.0.0.1:6379/9", "gw1") == "redis://127.0.0.1:6379/10"
    assert worker_redis_url("redis://:pw@redis:6380", "gw2") == "redis://:pw@redis:6380/2"
    # Not under xdist (no worker, or the controller): REDIS_URL as it is.
    assert worker_redis_url("redis://127.0.0.1:6379/9", "") == "redis://127.0.0.1:6379/9"


class Upstream:
    """A MoltFlow that counts its calls and reports the budget it is told to."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.remaining = 59

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        headers = {
            "X-RateLimit-Limit": "60",
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": "60",
        }
        return httpx.Response(200, json={"leads": [], "total": 0}, headers=headers)


@pytest.fixture
def processes() -> Iterator[tuple[Upstream, MoltflowClient, MoltflowClient]]:
    """One upstream and two clients with their own Redis connections: two app processes."""
    upstream = Upstream()
    http = httpx.Client(transport=httpx.MockTransport(upstream))
    caches = [RedisCache(REDIS_URL, {"KEY_PREFIX": "leads-test"}) for _ in range(2)]
    caches[0].clear()
    clients = [
        MoltflowClient(BASE, "mf_key", http=http, cache=cache, sleep=lambda s: None)
        for cache in caches
    ]
    yield upstream, clients[0], clients[1]
    caches[0].clear()
    http.close()


@needs_redis
def test_a_read_made_by_one_process_is_served_to_another_from_redis(processes) -> None:
    upstream, first, second = processes

    first.get("/leads", {"limit": 50})
    second.get("/leads", {"limit": 50})

    assert upstream.calls == ["GET /api/v2/leads"]


@needs_redis
def test_a_write_in_one_process_makes_every_process_read_again(processes) -> None:
    upstream, first, second = processes
    second.get("/leads", {"limit": 50})

    first.send("PATCH", "/leads/x/status", {"status": "contacted"})
    second.get("/leads", {"limit": 50})

    assert upstream.calls == ["GET /api/v2/leads", "PATCH /api/v2/leads/x/status"] + [
        "GET /api/v2/leads"
    ]


@needs_redis
def test_a_budget_spent_in_one_process_holds_back_another(processes) -> None:
    upstream, first, second = processes
    upstream.remaining = 0
    first.get("/leads", {"limit": 50})

    with pytest.raises(RateLimited):
        second.get("/leads", {"limit": 10})

    assert upstream.calls == ["GET /api/v2/leads"]
