"""Measure the pipeline board's server time on a large store, next to the leads table's.

    DATABASE_URL=postgres://… python manage.py bench_board --leads 100000

Makes sure the store holds at least N leads (through `seed_demo`), then requests the board
and the table in-process with Django's test client as a signed-in manager (no network, no web
server: the numbers are the application's and the database's), in the same run, and prints
the median and 95th percentile of each, with the SQL statements one request makes.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.db.models import Count
from django.http import HttpResponseBase
from django.test import Client

from leads.bench import BenchRow, print_table, time_pages
from leads.management.commands.bench_api import ensure_leads
from leads.models import Lead

BENCH_USERNAME = "bench-board"
HTMX = {"HX-Request": "true"}


class Command(BaseCommand):
    help = "Time the board page (and its htmx regions) next to the table page on N leads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, default=100_000, help="leads the store holds")
        parser.add_argument("--runs", type=int, default=30, help="timed requests per page")

    def handle(self, *args: Any, leads: int, runs: int, **options: Any) -> None:
        ensure_leads(leads, self.stdout.write)
        print_table(measure(runs, self.stdout.write), self.stdout.write)


def measure(runs: int, log: Callable[[str], object]) -> list[BenchRow]:
    """Board and table server times in the same run, on the store as it is."""
    client = Client(HTTP_HOST="localhost")
    client.force_login(_manager())
    counts = dict(
        Lead.objects.order_by()
        .values("lead_status")
        .annotate(n=Count("id"))
        .values_list("lead_status", "n")
    )
    per_status = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
    log(
        f"Board: {sum(counts.values())} leads ({per_status}), vendor {connection.vendor}; "
        f"{runs} runs each, after 3 warm-up requests."
    )
    search = {"q": "price"}
    pages: dict[str, Callable[[], HttpResponseBase]] = {
        "board page": lambda: client.get("/leads/board/"),
        "table page": lambda: client.get("/leads/"),
        "board page, search 'price'": lambda: client.get("/leads/board/", search),
        "table page, search 'price'": lambda: client.get("/leads/", search),
        "board columns (htmx live refresh)": lambda: client.get(
            "/leads/board/", headers={**HTMX, "HX-Target": "board-columns"}
        ),
        "board: 20 more cards in 'new' (htmx)": lambda: client.get(
            "/leads/board/", {"shown_new": "40"}, headers={**HTMX, "HX-Target": "more-new"}
        ),
        "board: 'new' at 480 cards (htmx)": lambda: client.get(
            "/leads/board/", {"shown_new": "480"}, headers={**HTMX, "HX-Target": "more-new"}
        ),
    }
    # What each is compared with: the board against the table page (the peer), the
    # live refresh against the whole board, and a deep "show more" against a shallow one.
    peers = {
        "board page": "table page",
        "board page, search 'price'": "table page, search 'price'",
        "board columns (htmx live refresh)": "board page",
        "board: 'new' at 480 cards (htmx)": "board: 20 more cards in 'new' (htmx)",
    }
    return time_pages(pages, peers, runs)


def _manager() -> User:
    """A manager (bulk and exports show on the table, as a manager sees it)."""
    user, _ = User.objects.get_or_create(
        username=BENCH_USERNAME, defaults={"is_staff": True, "is_active": True}
    )
    user.groups.add(Group.objects.get_or_create(name="manager")[0])
    return user
