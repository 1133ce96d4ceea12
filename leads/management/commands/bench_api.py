"""Measure the mirror API's server time on a large store.

    DATABASE_URL=postgres://… python manage.py bench_api --leads 100000

Makes sure the store holds at least N leads (through `seed_demo` when it is installed), then
times GET /api/v2/leads in a few shapes and a bulk status change of 1,000 leads, in-process
with Django's test client (no network, no web server: the numbers are the application's and
the database's). The bulk change is rolled back, so the store is left as it was.
"""

import io
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.http import HttpResponseBase
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from leads.bench import BenchRow, StatementCounter, check_ok, print_table, row, timed_requests
from leads.models import ApiKey, Lead, MonitoredGroup, Session, build_search_text
from leads.pipeline import Status
from leads.totals import leads_per_day

BULK_SIZE = 1000


class Command(BaseCommand):
    help = "Time GET /api/v2/leads and a 1,000-lead bulk status change on N leads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, default=100_000, help="leads the store holds")
        parser.add_argument("--runs", type=int, default=50, help="timed requests per variant")

    def handle(self, *args: Any, leads: int, runs: int, **options: Any) -> None:
        ensure_leads(leads, self.stdout.write)
        print_table(measure(runs, self.stdout.write), self.stdout.write)


# --- Data ----------------------------------------------------------------------------------


def ensure_leads(wanted: int, log: Callable[[str], object]) -> None:
    """Make sure the store holds at least `wanted` leads (seed_demo first, then plain ones)."""
    have = Lead.objects.count()
    if have < wanted:
        log(f"Store holds {have} leads; seeding up to {wanted}…")
        started = time.perf_counter()
        if "seed_demo" in get_commands():
            call_command("seed_demo", leads=wanted, no_credentials=True, stdout=io.StringIO())
        if Lead.objects.count() < wanted:
            _seed_directly(wanted - Lead.objects.count())
        log(f"Seeded in {time.perf_counter() - started:.1f} s.")
        analyze()
    log(f"Store: {Lead.objects.count()} leads, vendor {connection.vendor}.")


def analyze() -> None:
    """Planner statistics and a visibility map after a bulk load (PostgreSQL only).

    Fresh bulk loads have neither: without this the first runs measure a database nobody
    would deploy. (VACUUM cannot run inside a transaction, as under the test suite.)
    """
    if connection.vendor != "postgresql":
        return
    vacuum = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
    with connection.cursor() as cursor:
        for table in ("leads_lead", "leads_leadstatuschange"):
            cursor.execute(f"{vacuum} {table}")


def _seed_directly(count: int) -> None:
    """Plain leads in one group, in batches (when seed_demo is missing or seeds fewer)."""
    session, _ = Session.objects.get_or_create(name="bench")
    group, _ = MonitoredGroup.objects.get_or_create(
        session=session, wa_group_id="120363999999999999@g.us", defaults={"name": "Bench"}
    )
    statuses = list(Status)
    now = timezone.now()
    batch: list[Lead] = []
    for index in range(count):
        phone = f"+1555{uuid.uuid4().int % 10**7:07d}"
        name = f"Bench lead {index}"
        batch.append(
            Lead(
                source_group=group,
                contact_jid=f"bench-{uuid.uuid4().hex}@lid",
                contact_phone=phone,
                contact_name=name,
                lead_status=statuses[index % len(statuses)],
                matched_keyword="price",
                lead_detected_at=now - timedelta(seconds=index),
                search_text=build_search_text(name, phone, "price"),
            )
        )
        if len(batch) == 5000:
            Lead.objects.bulk_create(batch)
            batch = []
    Lead.objects.bulk_create(batch)


# --- Measurements --------------------------------------------------------------------------


def measure(runs: int, log: Callable[[str], object]) -> list[BenchRow]:
    """Rows for the list endpoint's variants and the bulk status change, on the store as it is.

    Uses a throwaway API key (deleted afterwards); the bulk change is rolled back.
    """
    key, raw_key = ApiKey.issue("bench_api")
    try:
        # Rate limits off: 50 requests a variant would exceed any plan's allowance.
        with override_settings(MIRROR_RATE_LIMITS=False):
            client = Client(headers={"X-API-Key": raw_key}, HTTP_HOST="localhost")
            log(f"API: {runs} runs per list variant, limit 50 (default)…")
            rows = _bench_list(client, runs)
            log("API: bulk status change…")
            return rows + _bench_bulk(client)
    finally:
        key.delete()


def _bench_list(client: Client, runs: int) -> list[BenchRow]:
    total = Lead.objects.count()
    sample = Lead.objects.exclude(contact_name=None).order_by("id").first()
    needle = (sample.contact_name or "a").split()[0] if sample else "a"
    group_id = sample.source_group_id if sample else None
    variants: list[tuple[str, dict[str, Any]]] = [
        ("GET /leads", {}),
        ("GET /leads?status=contacted", {"status": "contacted"}),
        (f"GET /leads?search={needle}", {"search": needle}),
        ("GET /leads?search=<phone digits>", {"search": "50000123"}),
        ("GET /leads?search=<no match>", {"search": "zzqqxx"}),
        ("GET /leads?source_group_id=…&status=new", {"source_group_id": group_id, "status": "new"}),
    ]
    # Deep offsets, each against the first page (the issue's bound: at most 3x it).
    busiest = _busiest_day_middle()
    offsets = [
        ("GET /leads?offset=1000", 1000),
        # As far from both ends as a page can be.
        (f"GET /leads?offset={total // 2} (middle)", total // 2),
        (f"GET /leads?offset={max(0, total - 100)} (deep)", max(0, total - 100)),
        # The most an offset walks: to the middle of the busiest day (the kept per-day totals
        # find the day; the day is read from its nearer end).
        (f"GET /leads?offset={busiest} (middle of the busiest day)", busiest),
    ]
    # The floor: one lead by id, through the same key check, middleware and serialiser.
    # What a list variant costs above it is the list query's own cost.
    floor_label, floor = None, None
    if sample:
        floor, statements = timed_requests(lambda: client.get(f"/api/v2/leads/{sample.id}"), runs)
        floor_label = "GET /leads/{id}"
    rows = []
    if floor is not None:
        rows.append(row(f"API {floor_label} ({statements} SQL)", "ms", floor))
    first_page: list[float] = []
    for label, params in variants:
        params = {name: value for name, value in params.items() if value is not None}
        samples, statements = timed_requests(partial(client.get, "/api/v2/leads", params), runs)
        rows.append(row(f"API {label} ({statements} SQL)", "ms", samples, floor_label, floor))
        first_page = first_page or samples
    for label, offset in offsets:
        query = {"offset": offset}
        samples, statements = timed_requests(partial(client.get, "/api/v2/leads", query), runs)
        rows.append(row(f"API {label} ({statements} SQL)", "ms", samples, "GET /leads", first_page))
    export_runs = max(3, runs // 10)
    samples, statements = timed_requests(
        lambda: _drain(client.get("/api/v2/leads/export/csv")), export_runs
    )
    rows.append(row(f"API GET /leads/export/csv, ≤10,000 rows ({statements} SQL)", "ms", samples))
    return rows


def _busiest_day_middle() -> int:
    """The newest-first offset of the middle of the day that holds the most leads."""
    days = leads_per_day()
    if not days:
        return 0
    busiest = max(range(len(days)), key=lambda index: days[index][1])
    return sum(n for _, n in days[:busiest]) + days[busiest][1] // 2


def _bulk(client: Client, ids: list[str], runs: int) -> tuple[list[float], int, dict[str, Any]]:
    """Times of `runs` bulk moves of `ids` to lost, each rolled back; statements of the last."""
    body = {"lead_ids": ids, "status": Status.LOST.value}
    samples: list[float] = []
    statements = 0
    outcome: dict[str, Any] = {}
    for _ in range(runs):
        counter = StatementCounter()
        with transaction.atomic(), connection.execute_wrapper(counter):
            started = time.perf_counter()
            response = client.post("/api/v2/leads/bulk/status", body, "application/json")
            samples.append((time.perf_counter() - started) * 1000)
            check_ok(response)
            outcome = response.json()
            statements = counter.count
            transaction.set_rollback(True)  # leave the store as it was
    return samples, statements, outcome


def _bench_bulk(client: Client) -> list[BenchRow]:
    ids = [
        str(pk)
        for pk in Lead.objects.order_by("-lead_detected_at").values_list("id", flat=True)[
            :BULK_SIZE
        ]
    ]
    samples, statements, outcome = _bulk(client, ids, 5)
    # The floor: the same request for one lead. A constant statement count (not one per
    # lead) is what the bulk path promises.
    one_samples, one_statements, _ = _bulk(client, ids[:1], 5)
    label = (
        f"API POST /leads/bulk/status, {len(ids)} leads -> lost "
        f"({outcome.get('updated')} moved, {outcome.get('failed')} refused)"
    )
    return [
        row(label, "ms", samples, "same, 1 lead", one_samples),
        row(label, "SQL stmts", [statements], "same, 1 lead", [one_statements]),
    ]


def _drain(response: HttpResponseBase) -> HttpResponseBase:
    """Read a streamed body to the end: an export's time is the time to send all of it."""
    if getattr(response, "streaming", False):
        for _ in response.streaming_content:  # type: ignore[attr-defined]
            pass
    return response
