"""Measure the `moltflow` source against the project's own API served on loopback.

Prints (1) the time the source adds over the raw upstream call for one list page, and
(2) how many upstream calls twenty screens refreshing at once cause (the shared cache makes
one caller fetch while the others wait for its answer).

Runs in a throwaway database (a temporary SQLite file, or `<name>_bench` on PostgreSQL), so
the seeded leads never reach the real store. The API's rate limits are switched off for the
run: the point is the proxy's own cost, not the plan's budget.
"""

import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from django.core.management.base import BaseCommand, CommandParser
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test.utils import override_settings
from django.utils import timezone

from leads.bench import BenchRow, print_table, row
from leads.client import MoltflowClient, install_transport
from leads.models import ApiKey, Lead, MonitoredGroup, Session, build_search_text
from leads.pipeline import STATUSES
from leads.sources.moltflow import MoltflowSource
from leads.sources.records import LeadQuery

PAGE_SIZE = 50


class _QuietHandler(WSGIRequestHandler):
    # wsgiref writes headers and body separately; with Nagle on, the body waits for the
    # client's delayed ACK (~40 ms on loopback), which would swamp what is measured here.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        pass


class _CountingApp:
    """The project's WSGI app, counting the API requests it serves."""

    def __init__(self) -> None:
        self.app = get_wsgi_application()
        self.lock = threading.Lock()
        self.api_calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/api/v2/"):
            with self.lock:
                self.api_calls += 1
        return self.app(environ, start_response)


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh, migrated database for the run, dropped afterwards.

    It is reached through a new connection object put in place of this thread's default
    one, and the caller's connection is put back afterwards untouched: that connection may be
    inside a transaction (bench_all under the test suite) or be an in-memory SQLite database,
    which closing it (as creating a test database does) would destroy.
    """
    saved = connections[DEFAULT_DB_ALIAS]
    connections[DEFAULT_DB_ALIAS] = connections.create_connection(DEFAULT_DB_ALIAS)
    settings_dict = connection.settings_dict  # shared with `saved`: restored below
    old_name, old_test_name = settings_dict["NAME"], settings_dict["TEST"].get("NAME")
    try:
        with tempfile.TemporaryDirectory() as folder:
            if connection.vendor == "sqlite":
                # A file, not memory: the server's threads each open their own connection.
                settings_dict["TEST"]["NAME"] = str(Path(folder) / "bench.sqlite3")
            else:
                settings_dict["TEST"]["NAME"] = f"{old_name}_bench"
            # (No `serialize`: its default, None, skips the snapshot and is not deprecated.)
            name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
            try:
                yield name
            finally:
                connection.creation.destroy_test_db(old_name, verbosity=0)
    finally:
        settings_dict["NAME"] = old_name
        settings_dict["TEST"]["NAME"] = old_test_name
        connections[DEFAULT_DB_ALIAS] = saved


class _Server(ThreadedWSGIServer):
    # Handler threads are joined on close, so their database connections are closed before
    # the throwaway database is dropped.
    daemon_threads = False
    block_on_close = True


@contextmanager
def loopback_api(app: _CountingApp) -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=True)
    server.set_app(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v2"
    finally:
        # Closing the pooled client ends the kept-alive connections, so handler threads end.
        install_transport(None)
        server.shutdown()
        server.server_close()


def seed(leads: int) -> str:
    """Leads over three groups; returns a raw API key for the API."""
    session = Session.objects.create(name="bench")
    groups = [
        MonitoredGroup.objects.create(
            session=session, wa_group_id=f"12036300000{n}@g.us", name=f"Bench group {n}"
        )
        for n in range(3)
    ]
    now = timezone.now()
    Lead.objects.bulk_create(
        Lead(
            source_group=groups[n % 3],
            contact_jid=f"1555{n:07d}@c.us",
            contact_phone=f"+1555{n:07d}",
            contact_name=f"Contact {n}",
            lead_status=STATUSES[n % len(STATUSES)],
            matched_keyword="price",
            message_preview=f"Hi, what's the price of item {n}? " * 3,
            lead_detected_at=now - timedelta(minutes=n),
            search_text=build_search_text(f"Contact {n}", f"+1555{n:07d}", "price"),
        )
        for n in range(leads)
    )
    return ApiKey.issue("bench")[1]


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def measure(
    leads: int, iterations: int, screens: int, rounds: int, log: Callable[[str], object]
) -> list[BenchRow]:
    """Proxy overhead and stampede rows, in a throwaway database served on loopback.

    The API's rate limits are off for the run (restored afterwards): the point is the
    proxy's own cost, not the plan's budget.
    """
    # httpx logs a line per request at INFO: thousands of them would bury the results.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with override_settings(MIRROR_RATE_LIMITS=False), throwaway_database():
        raw_key = seed(leads)
        app = _CountingApp()
        with loopback_api(app) as base_url:
            log(
                f"Sources: API on {base_url} ({connection.vendor}, {leads} leads, "
                f"pages of {PAGE_SIZE}), {iterations} interleaved rounds…"
            )
            rows = latency(base_url, raw_key, iterations)
            log(f"Sources: {screens} screens refreshing at once, {rounds} rounds…")
            return rows + stampede(app, base_url, raw_key, screens, rounds)


def latency(base_url: str, raw_key: str, iterations: int) -> list[BenchRow]:
    """One list page: the raw upstream call, and the source on a cache miss and a hit.

    The raw client is closed however the run ends: a connection it left open would keep one
    of the loopback server's handler threads waiting, and the server's close waits for them.
    """
    with httpx.Client(headers={"X-API-Key": raw_key}) as raw_client:
        return _latency_rows(raw_client, base_url, raw_key, iterations)


def _latency_rows(
    raw_client: httpx.Client, base_url: str, raw_key: str, iterations: int
) -> list[BenchRow]:
    source = MoltflowSource(MoltflowClient(base_url, raw_key))
    query = LeadQuery()

    def raw_call() -> None:
        response = raw_client.get(f"{base_url}/leads", params={"limit": PAGE_SIZE})
        response.raise_for_status()
        response.json()

    def source_call() -> None:
        source.list_leads(query, limit=PAGE_SIZE)

    for _ in range(10):  # warm up connections, caches and imports
        raw_call()
        source.client.invalidate()
        source_call()
    raw, missed, hit, added = [], [], [], []
    for _ in range(iterations):
        raw_ms = timed(raw_call)
        source.client.invalidate()  # a miss: the source calls the upstream itself
        miss_ms = timed(source_call)
        hit_ms = timed(source_call)  # the same page again, from the shared cache
        raw.append(raw_ms)
        missed.append(miss_ms)
        hit.append(hit_ms)
        added.append(miss_ms - raw_ms)
    floor = "raw upstream call"
    return [
        row("moltflow source, list page, cache miss", "ms", missed, floor, raw),
        row("added by the source on a miss (paired)", "ms", added, floor, raw),
        row("moltflow source, list page, cache hit", "ms", hit, floor, raw),
    ]


def stampede(
    app: _CountingApp, base_url: str, raw_key: str, screens: int, rounds: int
) -> list[BenchRow]:
    """Upstream calls when `screens` screens refresh at once, against the ideal of one fetch
    per distinct request (the shared cache makes one caller fetch while the others wait)."""

    def refresh_all(work: Callable[[MoltflowSource], object]) -> tuple[int, float]:
        MoltflowClient(base_url, raw_key).invalidate()
        barrier = threading.Barrier(screens)
        failures: list[BaseException] = []

        def screen() -> None:
            # Each screen is its own request in its own thread, with its own client.
            source = MoltflowSource(MoltflowClient(base_url, raw_key))
            try:
                barrier.wait()
                work(source)
            except BaseException as error:  # reported below, never lost in a thread
                failures.append(error)
            finally:
                connection.close()

        before = app.api_calls
        start = time.perf_counter()
        threads = [threading.Thread(target=screen) for _ in range(screens)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = (time.perf_counter() - start) * 1000
        if failures:
            raise failures[0]
        return app.api_calls - before, elapsed

    def list_page(source: MoltflowSource) -> None:
        source.list_leads(LeadQuery(), limit=PAGE_SIZE)

    def table_screen(source: MoltflowSource) -> None:
        source.list_leads(LeadQuery(), limit=PAGE_SIZE)
        source.count_by_status()

    rows = []
    for label, work, ideal in (
        ("list page", list_page, 1),
        ("list page + counts per status", table_screen, 6),
    ):
        results = [refresh_all(work) for _ in range(rounds)]
        calls = [float(count) for count, _ in results]
        rows.append(
            row(
                f"upstream calls, {screens} screens refresh: {label} (no cache: {ideal * screens})",
                "calls",
                calls,
                f"floor: {ideal} fetch{'es' if ideal > 1 else ''}",
                [float(ideal)],
            )
        )
        rows.append(
            row(
                f"{screens} screens refresh: {label}, whole refresh",
                "ms",
                [ms for _, ms in results],
            )
        )
    return rows


class Command(BaseCommand):
    help = (
        "Benchmark the moltflow source against this project's API on loopback: time the "
        "source adds per list page, and upstream calls when many screens refresh at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, default=500, help="leads to seed (500)")
        parser.add_argument("--iterations", type=int, default=200, help="timed rounds (200)")
        parser.add_argument("--screens", type=int, default=20, help="concurrent screens (20)")
        parser.add_argument("--rounds", type=int, default=5, help="stampede rounds (5)")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = measure(
            options["leads"],
            options["iterations"],
            options["screens"],
            options["rounds"],
            self.stdout.write,
        )
        print_table(rows, self.stdout.write)
