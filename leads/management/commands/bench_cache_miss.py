"""Measure what the MoltFlow client adds to a read on a cache miss, above the call itself.

The upstream is an in-process `httpx.MockTransport` answering a page of 50 leads with the
plan's rate-limit headers, so there is no network to blur the difference: each round times
a direct httpx GET through that transport, then the client's cached GET of the same page
after `invalidate()` (a miss: look up, take the single-flight lock, call, store). The
difference, paired per round, is the cache's and the client's own cost. The shared cache is
Django's default one: Redis when `REDIS_URL` is set, local memory otherwise. Also counts the
Redis round trips one miss makes. Prints the load average beside the numbers.
"""

import logging
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from django.conf import settings
from django.core.cache import caches
from django.core.management.base import BaseCommand, CommandParser

from leads.bench import BenchRow, print_table, row
from leads.client import MoltflowClient
from leads.shared_cache import FallbackRedisCache

BASE_URL = "https://moltflow.bench/api/v2"
TARGET_MS = 5.0
_PAGE = {
    "leads": [
        {"id": str(uuid.uuid4()), "contact_name": f"Lead {n}", "lead_status": "new"}
        for n in range(50)
    ],
    "total": 50,
}


def _upstream(request: httpx.Request) -> httpx.Response:
    headers = {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "59", "X-RateLimit-Reset": "60"}
    return httpx.Response(200, json=_PAGE, headers=headers)


class CountingRedisCache(FallbackRedisCache):
    """The shared Redis cache, counting its round trips (a pipeline is one)."""

    round_trips = 0

    def _guarded(self, on_redis: Callable[[], Any], on_local: Callable[[], Any]) -> Any:
        self.round_trips += 1
        return super()._guarded(on_redis, on_local)


def _ms(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def measure(rounds: int, log: Callable[[str], object]) -> list[BenchRow]:
    """The miss overhead (paired with a direct call) and the Redis round trips per miss."""
    # httpx logs a line per request at INFO: thousands of them would bury the results.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    http = httpx.Client(transport=httpx.MockTransport(_upstream))
    cache = caches["default"]
    client = MoltflowClient(BASE_URL, "mf_bench", http=http, cache=cache)
    params = {"limit": 50}

    def direct() -> None:
        http.get(f"{BASE_URL}/leads", params=params, headers={"X-API-Key": "mf_bench"}).json()

    def missed() -> None:
        client.get("/leads", params)

    round_trips = _round_trips_of_a_miss(http, params)
    log(f"Cache miss: {type(cache).__name__}, {round_trips or 'n/a'} Redis round trips")

    for _ in range(20):  # warm up connections and imports
        client.invalidate()
        missed()
        direct()
    direct_ms, miss_ms, added = [], [], []
    for _ in range(rounds):
        first = _ms(direct)
        client.invalidate()
        second = _ms(missed)
        direct_ms.append(first)
        miss_ms.append(second)
        added.append(second - first)
    http.close()
    floor = "direct httpx call"
    return [
        row("client GET on a cache miss", "ms", miss_ms, floor, direct_ms),
        row(f"added by a miss (paired; target <= {TARGET_MS:g} ms)", "ms", added),
    ] + ([row("Redis round trips per miss", "calls", [float(round_trips)])] if round_trips else [])


def _round_trips_of_a_miss(http: httpx.Client, params: dict[str, Any]) -> int:
    """Round trips to Redis of one miss (0 when the cache is not Redis)."""
    options = settings.CACHES["default"]
    if options["BACKEND"] != "leads.shared_cache.FallbackRedisCache":
        return 0
    counting = CountingRedisCache(str(options["LOCATION"]), options)
    client = MoltflowClient(BASE_URL, "mf_bench", http=http, cache=counting)
    client.invalidate()
    counting.round_trips = 0
    client.get("/leads", params)
    return counting.round_trips


class Command(BaseCommand):
    help = "Benchmark what a cache miss adds to a MoltFlow read, above the upstream call."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rounds", type=int, default=500, help="timed rounds (500)")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = measure(options["rounds"], self.stdout.write)
        load = " ".join(f"{n:.1f}" for n in os.getloadavg())
        self.stdout.write(f"\nbench_cache_miss: load average {load} on {os.cpu_count()} CPUs.\n")
        print_table(rows, self.stdout.write)
