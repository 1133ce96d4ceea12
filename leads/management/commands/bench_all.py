"""Every benchmark in one run, on one realistic store, printed as one table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leads_bench \
        python manage.py bench_all [--leads 100000] [--groups 50] [--quick]

Seeds the store through `seed_demo` (idempotent: a second run adds nothing), refreshes the
planner's statistics, then runs each benchmark's measuring function (the same ones the
`bench_*` commands print on their own) and prints one table: what was measured, its median
and p95, the peer or floor measured in the same run, the peer's median, and the ratio
(see leads/bench.py).

PostgreSQL only unless `--allow-sqlite`: the numbers are meant to describe the database a
team deploys. `--quick` shrinks every benchmark (a few hundred leads, a few runs, five
seconds of idle screens) so the test suite can prove the whole chain still runs.
"""

import importlib
import inspect
import io
import math
import os
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from leads.bench import BenchRow, print_table
from leads.management.commands import (
    bench_api,
    bench_board,
    bench_cache_miss,
    bench_detection,
    bench_idle_screens,
    bench_ingest,
    bench_sources,
)
from leads.models import Lead

Log = Callable[[str], object]
TABLE_BENCH_MODULE = "leads.management.commands.bench_table"


def table_page_vs_admin(runs: int, log: Log) -> list[BenchRow]:
    """HOOK for issue 5's benchmark (the table page vs the Django admin changelist).

    bench_table.py is written separately. When it exposes `measure(...) -> list[BenchRow]`
    (as the other bench_* modules do), its rows join the table; when it is a command without
    one, its own output is printed after the table; when it does not exist, a row says so.
    """
    try:
        module = importlib.import_module(TABLE_BENCH_MODULE)
    except ModuleNotFoundError:
        return [_not_run("table page vs admin changelist", "bench_table.py does not exist yet")]
    measure = getattr(module, "measure", None)
    if measure is None:
        out = io.StringIO()
        call_command("bench_table", stdout=out)
        log("bench_table (its own output, it has no measure() yet):\n" + out.getvalue())
        return [_not_run("table page vs admin changelist", "see bench_table output above")]
    # Pass only what its signature takes: the module is not ours to shape.
    offered: dict[str, Any] = {"runs": runs, "log": log}
    accepted = inspect.signature(measure).parameters
    return list(measure(**{name: value for name, value in offered.items() if name in accepted}))


def _not_run(measure: str, why: str) -> BenchRow:
    return BenchRow(f"{measure}: NOT RUN ({why})", "", math.nan, math.nan)


def _database_url() -> str:
    """The current database as a URL, for the idle-screens server processes."""
    settings = connection.settings_dict
    # Quoted: a password may hold characters a URL gives a meaning to (@, :, /).
    user = quote(settings.get("USER") or "", safe="")
    password = f":{quote(settings['PASSWORD'], safe='')}" if settings.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    host = settings.get("HOST") or "localhost"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{settings['NAME']}"


class Command(BaseCommand):
    help = "Seed a realistic store and run every benchmark, printing one table."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, default=100_000, help="leads to seed (100,000)")
        parser.add_argument("--groups", type=int, default=50, help="monitored groups (50)")
        parser.add_argument(
            "--quick", action="store_true", help="tiny sizes and few runs (for the test suite)"
        )
        parser.add_argument(
            "--allow-sqlite", action="store_true", help="run on SQLite anyway (numbers not real)"
        )
        parser.add_argument(
            "--idle-seconds", type=float, default=None, help="idle-screens window (60; quick 5)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql" and not options["allow_sqlite"]:
            raise CommandError(
                f"bench_all measures PostgreSQL, and this database is {connection.vendor}. Point "
                "DATABASE_URL at a PostgreSQL database (a throwaway one: it gets demo data), "
                "or pass --allow-sqlite for a smoke run."
            )
        quick = options["quick"]
        leads = min(options["leads"], 300) if quick else options["leads"]
        groups = min(options["groups"], 6) if quick else options["groups"]
        log = self._log
        self._seed(leads, groups)

        idle_seconds = options["idle_seconds"] or (5.0 if quick else 60.0)
        # The idle screens' server is separate processes: on PostgreSQL they use this store
        # (as production would), except under --quick, where the benchmark's own temporary
        # SQLite file keeps the test database out of another process's reach.
        idle_url = "" if quick or connection.vendor != "postgresql" else _database_url()
        benchmarks: list[tuple[str, Callable[[], list[BenchRow]]]] = [
            ("api (issue 2)", lambda: bench_api.measure(2 if quick else 50, log)),
            (
                "detection (issue 3)",
                lambda: bench_detection.measure(
                    600 if quick else 20_000, 7, [10, 100, 1000], log, chunks=3 if quick else 20
                ),
            ),
            (
                "ingest (issue 17)",
                lambda: bench_ingest.measure(240 if quick else 6000, min(groups, 6), log),
            ),
            (
                "sources (issue 4)",
                lambda: bench_sources.measure(
                    40 if quick else 500,
                    5 if quick else 200,
                    5 if quick else 20,
                    2 if quick else 5,
                    log,
                ),
            ),
            ("cache miss (issue 14)", lambda: bench_cache_miss.measure(50 if quick else 500, log)),
            ("table vs admin (issue 5)", lambda: table_page_vs_admin(2 if quick else 30, log)),
            ("board (issue 6)", lambda: bench_board.measure(2 if quick else 30, log)),
            (
                "idle screens (issue 7)",
                lambda: bench_idle_screens.measure(
                    screens=5 if quick else 100,
                    seconds=idle_seconds,
                    database_url=idle_url,
                    log=log,
                ),
            ),
        ]
        rows: list[BenchRow] = []
        failures: list[str] = []
        for name, run in benchmarks:
            log(f"--- {name}")
            started = time.perf_counter()
            try:
                rows.extend(run())
            except Exception as error:  # one failure must not hide the others
                failures.append(f"{name}: {type(error).__name__}: {error}")
                rows.append(_not_run(name, f"failed: {type(error).__name__}"))
            log(f"    ({time.perf_counter() - started:.0f} s)")

        self.stdout.write(
            f"\nbench_all: {Lead.objects.count():,} leads, {groups} groups, "
            f"{connection.vendor}{', QUICK (sizes shrunk)' if quick else ''}; "
            f"load average {' '.join(f'{n:.1f}' for n in os.getloadavg())} "
            f"on {os.cpu_count()} CPUs.\n"
        )
        print_table(rows, self.stdout.write)
        if failures:
            raise CommandError("Some benchmarks failed:\n" + "\n".join(failures))

    def _log(self, message: str) -> object:
        return self.stdout.write(message)

    def _seed(self, leads: int, groups: int) -> None:
        """The demo data (leads over every status, with their history), then statistics."""
        self.stdout.write(f"Seeding up to {leads:,} leads in {groups} groups (seed_demo)…")
        started = time.perf_counter()
        call_command(
            "seed_demo", leads=leads, groups=groups, no_credentials=True, stdout=self.stdout
        )
        bench_api.analyze()
        self.stdout.write(f"Seeded and analysed in {time.perf_counter() - started:.0f} s.")
