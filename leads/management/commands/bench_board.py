"""Measure the pipeline board's server time on a large store, next to the leads table's.

    DATABASE_URL=postgres://… python manage.py bench_board --leads 100000

Makes sure the store holds at least N leads (through `seed_demo`), then requests the board
and the table in-process with Django's test client as a signed-in manager (no network, no web
server: the numbers are the application's and the database's), in the same run, and prints
the median and 95th percentile of each, with the SQL statements one request makes.
"""

import statistics
import time
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.db.models import Count
from django.http import HttpResponseBase
from django.test import Client

from leads.management.commands.bench_api import StatementCounter
from leads.models import Lead

BENCH_USERNAME = "bench-board"
HTMX = {"HX-Request": "true"}


class Command(BaseCommand):
    help = "Time the board page (and its htmx regions) next to the table page on N leads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, default=100_000, help="leads the store holds")
        parser.add_argument("--runs", type=int, default=30, help="timed requests per page")

    def handle(self, *args: Any, leads: int, runs: int, **options: Any) -> None:
        self._ensure_leads(leads)
        client = Client(HTTP_HOST="localhost")
        client.force_login(self._manager())
        counts = dict(
            Lead.objects.order_by()
            .values("lead_status")
            .annotate(n=Count("id"))
            .values_list("lead_status", "n")
        )
        per_status = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
        self.stdout.write(
            f"Store: {sum(counts.values())} leads ({per_status}), vendor {connection.vendor}; "
            f"{runs} runs each, after 3 warm-up requests.\n"
        )
        search = {"q": "price"}
        pages: list[tuple[str, Callable[[], HttpResponseBase]]] = [
            ("board page", lambda: client.get("/leads/board/")),
            ("table page", lambda: client.get("/leads/")),
            ("board page, search 'price'", lambda: client.get("/leads/board/", search)),
            ("table page, search 'price'", lambda: client.get("/leads/", search)),
            (
                "board columns (htmx live refresh)",
                lambda: client.get("/leads/board/", headers={**HTMX, "HX-Target": "board-columns"}),
            ),
            (
                "board: 20 more cards in 'new' (htmx)",
                lambda: client.get(
                    "/leads/board/",
                    {"shown_new": "40"},
                    headers={**HTMX, "HX-Target": "more-new"},
                ),
            ),
            (
                "board: 'new' at 480 cards (htmx)",
                lambda: client.get(
                    "/leads/board/",
                    {"shown_new": "480"},
                    headers={**HTMX, "HX-Target": "more-new"},
                ),
            ),
        ]
        for label, call in pages:
            samples, statements = self._timed(call, runs)
            self.stdout.write(
                f"{label:<40} median {statistics.median(samples):7.1f} ms   "
                f"p95 {_p95(samples):7.1f} ms   {statements:>2} SQL"
            )

    def _ensure_leads(self, wanted: int) -> None:
        have = Lead.objects.count()
        if have < wanted:
            self.stdout.write(f"Store holds {have} leads; seeding up to {wanted}…")
            started = time.perf_counter()
            call_command("seed_demo", leads=wanted, no_credentials=True, stdout=self.stdout)
            self.stdout.write(f"Seeded in {time.perf_counter() - started:.1f} s.")
            if connection.vendor == "postgresql":
                # A fresh bulk load has no planner statistics or visibility map yet: without
                # them the first runs would measure a database nobody deploys.
                vacuum = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
                with connection.cursor() as cursor:
                    cursor.execute(f"{vacuum} leads_lead")

    def _manager(self) -> User:
        """A manager (bulk and exports show on the table, as a manager sees it)."""
        user, _ = User.objects.get_or_create(
            username=BENCH_USERNAME, defaults={"is_staff": True, "is_active": True}
        )
        user.groups.add(Group.objects.get_or_create(name="manager")[0])
        return user

    def _timed(self, call: Callable[[], HttpResponseBase], runs: int) -> tuple[list[float], int]:
        """Milliseconds per run after a warm-up, and the SQL statements of one run."""
        for _ in range(3):
            _check(call())
        counter = StatementCounter()
        with connection.execute_wrapper(counter):
            _check(call())
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            response = call()
            samples.append((time.perf_counter() - started) * 1000)
            _check(response)
        return samples, counter.count


def _check(response: HttpResponseBase) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code}: {response.content[:300]!r}")


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
