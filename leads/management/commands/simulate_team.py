"""Simulate a team browsing in MoltFlow mode against a plan's rate limit; count what broke.

Ten people (by default) open the leads table and the pipeline board for five minutes, each
thinking 5–25 s between pages, through the real views, source, client and shared cache. The
upstream is this project's own /api/v2 in process, behind a gate that enforces the plan's
limit (60 requests a minute: Business) per minute window and answers a real 429 with
`Retry-After` beyond it. Time is simulated: the think time, and any wait the client makes,
move one clock forward instead of passing, so five minutes take seconds.

Prints the pages served, upstream calls, upstream 429s, 5xx (upstream and pages), and how
old the data behind each page was (the oldest read it showed, against the cache period).
Runs in a throwaway database, as `bench_sources` does.
"""

import heapq
import logging
import os
import random
from collections import Counter
from typing import Any

import httpx
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.wsgi import get_wsgi_application
from django.test import Client
from django.test.utils import override_settings

from leads.bench import SimulatedTime, percentile
from leads.client import install_transport
from leads.management.commands.bench_sources import seed, throwaway_database
from leads.roles import REP, set_user_role
from leads.upstream.reads import served_fetch_times

BASE_URL = "http://moltflow.sim/api/v2"
PAGES = ("/leads/", "/leads/board/")


class PlanGate(httpx.BaseTransport):
    """The upstream's rate limit: `limit` requests per minute window, then real 429s."""

    def __init__(self, inner: httpx.BaseTransport, time: SimulatedTime, limit: int) -> None:
        self.inner = inner
        self.time = time
        self.limit = limit
        self.window = -1
        self.used = 0
        self.calls = 0
        self.refused = 0
        self.errors = 0
        self.paths: Counter[str] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        now = self.time.clock()
        window = int(now // 60)
        if window != self.window:
            self.window, self.used = window, 0
        resets_in = (window + 1) * 60 - now
        self.calls += 1
        self.paths[request.url.path.removeprefix("/api/v2")] += 1
        if self.used >= self.limit:
            self.refused += 1
            return httpx.Response(
                429,
                json={"detail": "Rate limit exceeded"},
                headers=self._headers(0, resets_in) | {"Retry-After": str(int(resets_in) + 1)},
            )
        self.used += 1
        answer = self.inner.handle_request(request)
        answer.read()
        if answer.status_code >= 500:
            self.errors += 1
        headers = [
            (name, value)
            for name, value in answer.headers.items()
            if not name.lower().startswith("x-ratelimit")
            and name.lower() not in ("content-length", "content-encoding", "transfer-encoding")
        ]
        headers += list(self._headers(self.limit - self.used, resets_in).items())
        return httpx.Response(answer.status_code, headers=headers, content=answer.content)

    def _headers(self, remaining: int, resets_in: float) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(int(resets_in) + 1),
        }


class Command(BaseCommand):
    help = "Simulate a team browsing in MoltFlow mode under the plan's rate limit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=10, help="people browsing (10)")
        parser.add_argument("--minutes", type=float, default=5.0, help="simulated minutes (5)")
        parser.add_argument("--limit", type=int, default=60, help="plan requests/minute (60)")
        parser.add_argument("--leads", type=int, default=200, help="leads upstream (200)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
        parser.add_argument(
            "--cache-seconds", type=int, default=None, help="MOLTFLOW_CACHE_SECONDS (setting)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("leads").setLevel(logging.ERROR)
        caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                              "LOCATION": f"simulate-team-{os.getpid()}"}}  # fmt: skip
        with throwaway_database():
            raw_key = seed(options["leads"])
            with override_settings(
                MIRROR_RATE_LIMITS=False,
                LEADS_SOURCE="moltflow",
                MOLTFLOW_API_URL=BASE_URL,
                MOLTFLOW_API_KEY=raw_key,
                CACHES=caches,
                ALLOWED_HOSTS=["*"],
                MOLTFLOW_CACHE_SECONDS=options["cache_seconds"] or settings.MOLTFLOW_CACHE_SECONDS,
            ):
                result = self._run(options)
        self.stdout.write(result)

    def _run(self, options: dict[str, Any]) -> str:
        time = SimulatedTime()
        gate = PlanGate(httpx.WSGITransport(app=get_wsgi_application()), time, options["limit"])
        install_transport(gate, clock=time.clock, sleep=time.sleep)
        rng = random.Random(options["seed"])
        people = []
        for n in range(options["users"]):
            user = User.objects.create_user(f"sim{n}", password=None)
            set_user_role(user, REP)
            browser = Client()
            browser.force_login(user)
            people.append(browser)
        end = time.now + options["minutes"] * 60
        queue = [(time.now + rng.uniform(0, 5), n) for n in range(len(people))]
        heapq.heapify(queue)
        pages = failed = 0
        ages: list[float] = []
        periods_behind: list[float] = []
        try:
            while queue:
                at, n = heapq.heappop(queue)
                if at >= end:
                    continue
                time.now = max(time.now, at)
                with served_fetch_times() as fetched:
                    status = people[n].get(rng.choice(PAGES)).status_code
                pages += 1
                failed += status >= 500
                ages.append(max((time.now - t for t, _ in fetched), default=0.0))
                periods_behind.append(
                    max(((time.now - t) / max(f - t, 1e-9) for t, f in fetched), default=0.0)
                )
                heapq.heappush(queue, (time.now + rng.uniform(5, 25), n))
        finally:
            install_transport(None)
        if not pages:
            raise CommandError("No page was served.")
        load = " ".join(f"{n:.1f}" for n in os.getloadavg())
        return (
            f"simulate_team: {options['users']} people, {options['minutes']:g} simulated "
            f"minutes, plan limit {options['limit']}/min, cache period "
            f"{settings.MOLTFLOW_CACHE_SECONDS} s; load average {load}\n"
            f"pages served: {pages} ({failed} answered 5xx)\n"
            f"upstream calls: {gate.calls} ({gate.refused} answered 429, {gate.errors} 5xx)\n"
            f"data age behind a page: median {percentile(ages, 0.5):.1f} s, "
            f"p95 {percentile(ages, 0.95):.1f} s, max {max(ages):.1f} s\n"
            f"data age in its own cache periods (pages {settings.MOLTFLOW_CACHE_SECONDS} s, "
            f"counts and groups longer): p95 {percentile(periods_behind, 0.95):.1f}, "
            f"max {max(periods_behind):.1f}\n"
            f"upstream calls by path: {dict(gate.paths.most_common(8))}\n"
        )
