"""The table and the board at 10,000 and at 1,000,000 leads, in one run, with their peers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leads_bench \\
        python manage.py bench_million [--small 10000] [--large 1000000] [--runs 20] [--keep]

PostgreSQL only (the store grows with `INSERT … SELECT`). In one run it:

1. removes the copies an earlier run left (`leads.bench_store`), seeds the small store with
   `seed_demo` when it holds fewer leads, refreshes the planner's statistics, and measures;
2. grows the store to `--large` leads by copying the seeded ones in SQL (minutes, not the
   hours seed_demo would take), reconciles the kept totals (printing any correction: there
   should be none), refreshes the statistics, and measures the same pages again;
3. prints one table: each page at both sizes against its peer (the Django admin changelist
   with the same filter, search, order and 50 rows; the same page at the small size), the
   CPU to render a 50-row page, compressed against raw page sizes, and the load average.

Ratios are `median / peer median`: the table against the admin should be ≤ 0.33 (3× faster),
a page at 1M against itself at 10k ≤ 1.5. The copies are removed at the end; `--keep`
leaves them (to read query plans at 1M), and the next run removes them first.
"""

import gzip
import os
import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import Client

from leads import bench_store
from leads.bench import BenchRow, check_ok, print_table, row, timed_requests
from leads.filters import DEFAULT_PAGE_SIZE
from leads.management.commands import bench_render
from leads.management.commands.bench_api import analyze, ensure_leads
from leads.management.commands.bench_table import ADMIN_QUERY, TABLE_QUERY, _manager_with_admin
from leads.models import Lead
from leads.queries import NEWEST_FIRST
from leads.sources.records import SORT_KEYS
from leads.totals import reconcile_totals

Log = Callable[[str], object]
Samples = dict[str, tuple[list[float], int]]

TABLE = "table ?status=new&q=price&sort=contact_name"
ADMIN = "admin changelist, same filter/search/order"
BOARD = "board"
DEEP = "table, Next link 95% of the way down (keyset)"
ONE_CONTACT = "table ?q=<one contact's number>"
# A word in a few leads' names (rare) and one in a third of them (common), per sort.
SEARCHES = {"rare": "schäfer", "common": "price"}
SORTS = SORT_KEYS  # every sort the table offers


def pages(client: Client) -> dict[str, Callable[[], Any]]:
    """Every page measured at both sizes, by label."""
    measured: dict[str, Callable[[], Any]] = {
        TABLE: lambda: client.get("/leads/", TABLE_QUERY),
        ADMIN: lambda: client.get("/admin/leads/lead/", ADMIN_QUERY),
        BOARD: lambda: client.get("/leads/board/"),
        "board, search 'price'": lambda: client.get("/leads/board/", {"q": "price"}),
        "table, page 100 (newest first)": lambda: client.get("/leads/", {"page": "100"}),
        DEEP: _get(client, _deep_page()),
        ONE_CONTACT: _get(client, {"q": _a_contacts_number()}),
    }
    for sort in SORTS:
        measured[f"table ?sort={sort}"] = _get(client, {"sort": sort})
    for kind, word in SEARCHES.items():
        for sort in ("-detected_at", "contact_name"):
            measured[f"table ?q=<{kind} word>&sort={sort}"] = _get(
                client, {"q": word, "sort": sort}
            )
    return measured


def _deep_page() -> dict[str, str]:
    """The query of the Next link that reaches 95% of the way down the newest-first table
    (page 19,001 of 20,000 at 1M): the page after that row, by keyset."""
    depth = Lead.objects.count() * 95 // 100
    cursor = Lead.objects.order_by(*NEWEST_FIRST).values_list("id", flat=True)[depth - 1]
    return {"page": str(depth // DEFAULT_PAGE_SIZE + 1), "after": str(cursor)}


def _a_contacts_number() -> str:
    """The last nine digits of the oldest lead's phone: a rep looking one person up."""
    phone = (
        Lead.objects.exclude(contact_phone=None)
        .order_by("lead_detected_at")
        .values_list("contact_phone", flat=True)
        .first()
    )
    return (phone or "")[-9:]


def _get(client: Client, query: dict[str, str]) -> Callable[[], Any]:
    return lambda: client.get("/leads/", query)


def measure_store(runs: int, log: Log) -> Samples:
    """Milliseconds per request (and SQL statements) of every page, on the store as it is."""
    client = Client(HTTP_HOST="localhost")
    client.force_login(_manager_with_admin())
    log(f"Measuring at {Lead.objects.count():,} leads: {runs} runs per page…")
    return {label: timed_requests(call, runs) for label, call in pages(client).items()}


def page_sizes() -> list[BenchRow]:
    """The table and board pages' bytes over the wire, gzip against raw (KB, one sample)."""
    client = Client(HTTP_HOST="localhost")
    client.force_login(_manager_with_admin())
    rows = []
    for label, path, query in (
        ("table page (50 rows)", "/leads/", TABLE_QUERY),
        ("board page", "/leads/board/", {}),
    ):
        raw = check_ok(client.get(path, query)).content
        response = check_ok(client.get(path, query, headers={"Accept-Encoding": "gzip"}))
        squeezed = response.content
        if response.get("Content-Encoding") == "gzip":
            assert gzip.decompress(squeezed)  # a real gzip body, not a label
        rows.append(row(f"{label}, gzip", "KB", [len(squeezed) / 1024], "raw", [len(raw) / 1024]))
    return rows


def compare(small: Samples, large: Samples, small_n: int, large_n: int) -> list[BenchRow]:
    """The headline rows: table vs admin at both sizes, then every page at large vs small."""
    small_label, large_label = _size(small_n), _size(large_n)
    result = [
        row(
            f"{TABLE} vs admin @ {label} ({samples[TABLE][1]} SQL)",
            "ms",
            samples[TABLE][0],
            f"{ADMIN} ({samples[ADMIN][1]} SQL)",
            samples[ADMIN][0],
        )
        for label, samples in ((small_label, small), (large_label, large))
    ]
    for label in large:
        if label == ADMIN:
            continue
        result.append(
            row(
                f"{label} @ {large_label} ({large[label][1]} SQL)",
                "ms",
                large[label][0],
                f"same @ {small_label}",
                small[label][0],
            )
        )
    return result


def _size(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n:,}"


def _load() -> str:
    return " ".join(f"{n:.1f}" for n in os.getloadavg())


class Command(BaseCommand):
    help = "The table and board at 10,000 and 1,000,000 leads, with their peers, in one run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--small", type=int, default=10_000, help="seeded leads (10,000)")
        parser.add_argument("--large", type=int, default=1_000_000, help="grown to (1,000,000)")
        parser.add_argument("--runs", type=int, default=20, help="timed requests per page (20)")
        parser.add_argument(
            "--keep", action="store_true", help="leave the copies in the store after the run"
        )

    def handle(self, *args: Any, small: int, large: int, runs: int, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                f"bench_million grows the store with PostgreSQL's SQL; this database is "
                f"{connection.vendor}. Point DATABASE_URL at a throwaway PostgreSQL database."
            )
        if large <= small:
            raise CommandError("--large must be more than --small.")
        log = self.stdout.write
        started = time.perf_counter()
        load_before = _load()
        removed = bench_store.shrink_leads()
        if removed:
            log(f"Removed {removed:,} copies left by an earlier run.")
        ensure_leads(small, log)
        analyze()
        small_n = Lead.objects.count()
        at_small = measure_store(runs, log)
        render_rows = bench_render.measure(runs, log)

        grow_started = time.perf_counter()
        log(f"Growing the store to {large:,} leads (copies, in SQL)…")
        bench_store.grow_leads(large, log)
        corrected = reconcile_totals()
        log(f"Totals reconciled: {len(corrected)} corrections {corrected or ''}")
        analyze()
        log(f"Grown and analysed in {time.perf_counter() - grow_started:.0f} s.")
        large_n = Lead.objects.count()
        at_large = measure_store(runs, log)
        sizes = page_sizes()
        if not options["keep"]:
            log(f"Removed the {bench_store.shrink_leads():,} copies again.")

        self.stdout.write(
            f"\nbench_million: {_size(small_n)} then {_size(large_n)} leads, PostgreSQL, "
            f"{runs} runs per page; load average {load_before} at the start, {_load()} at the "
            f"end, on {os.cpu_count()} CPUs; {time.perf_counter() - started:.0f} s in all.\n"
        )
        print_table(compare(at_small, at_large, small_n, large_n) + render_rows + sizes, log)
