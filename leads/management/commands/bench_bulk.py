"""Time the bulk status changes: the API's for 1,000 leads, the dashboard's over 10,000.

    DATABASE_URL=postgres://… python manage.py bench_bulk --leads 1000000

Makes sure the store holds at least N leads (through `seed_demo`), then moves the same 1,000
`lost` leads to `new` and back, each request committed, through the real door: a fresh API
key, its rate-limit bookkeeping on, the middleware and the serialiser. Prints the median and
the 95th percentile beside the same request for one lead, the SQL statements of one request
and the machine's load. An even number of moves leaves every lead in the status it had; the
history rows the runs wrote are deleted with the key. Then the dashboard's bulk form, as a
signed-in manager, moves all 10,000 leads matching a filter (a group made for it, deleted
after), confirmed, there and back.
"""

import os
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from leads.bench import BenchRow, StatementCounter, check_ok, print_table, row
from leads.management.commands.bench_api import ensure_leads
from leads.models import ApiKey, Lead, LeadStatusChange, MonitoredGroup, Session
from leads.pipeline import Status, can_transition
from leads.roles import MANAGER, set_user_role
from leads.totals import totals_by_status

BULK_SIZE = 1000
SELECT_ALL_SIZE = 10_000
# Four requests a run (two sizes, there and back) within Business's 60 requests a minute.
MAX_RUNS = 14
# A lead moves there and back, so the store ends as it began (both steps are in the table).
THERE, BACK = Status.NEW, Status.LOST


class Command(BaseCommand):
    help = "Time POST /api/v2/leads/bulk/status for 1,000 leads on a store of N leads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, default=1_000_000, help="leads the store holds")
        parser.add_argument(
            "--runs", type=int, default=10, help="moves there and back, of each size (at most 14)"
        )

    def handle(self, *args: Any, leads: int, runs: int, **options: Any) -> None:
        if not 1 <= runs <= MAX_RUNS:
            raise CommandError(f"--runs must be between 1 and {MAX_RUNS} (the plan's rate limit).")
        ensure_leads(leads, self.stdout.write)
        ids = [
            str(pk)
            for pk in Lead.objects.filter(lead_status=BACK)
            .order_by("-lead_detected_at")
            .values_list("id", flat=True)[:BULK_SIZE]
        ]
        if len(ids) < BULK_SIZE:
            raise CommandError(f"The store has {len(ids)} {BACK} leads; {BULK_SIZE} are needed.")
        print_table(measure(ids, runs) + measure_select_all(runs), self.stdout.write)
        one, five, fifteen = os.getloadavg()
        self.stdout.write(
            f"{connection.vendor}, {Lead.objects.count():,} leads; "
            f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"
        )


def measure(ids: list[str], runs: int) -> list[BenchRow]:
    """Bulk moves of `ids` and of one id, there and back; the key and its history removed."""
    assert can_transition(BACK, THERE) and can_transition(THERE, BACK)
    key, raw_key = ApiKey.issue("bench_bulk", ["leads:manage"])
    try:
        with override_settings(MIRROR_RATE_LIMITS=True):
            client = Client(headers={"X-API-Key": raw_key}, HTTP_HOST="localhost")
            many, statements = _moves(client, ids, runs)
            one, one_statements = _moves(client, ids[:1], runs)
    finally:
        LeadStatusChange.objects.filter(api_key=key).delete()
        key.delete()
    label = f"API POST /leads/bulk/status, {len(ids)} leads"
    return [
        row(f"{label} ({statements} SQL)", "ms", many, f"same, 1 lead ({one_statements} SQL)", one),
    ]


def measure_select_all(runs: int) -> list[BenchRow]:
    """The dashboard's bulk form over all 10,000 leads matching a filter, confirmed, there
    and back, as a signed-in manager. The leads are a group of their own, deleted after."""
    session, _ = Session.objects.get_or_create(name="bench")
    group = MonitoredGroup.objects.create(
        session=session, wa_group_id=f"bench-{uuid.uuid4().hex}@g.us", name="Bench select-all"
    )
    user = get_user_model().objects.create_user(f"bench-{uuid.uuid4().hex[:12]}")
    try:
        Lead.objects.bulk_create(
            (
                Lead(source_group=group, contact_jid=f"bench-{n}@lid", lead_status=BACK)
                for n in range(SELECT_ALL_SIZE)
            ),
            batch_size=2000,
        )
        set_user_role(user, MANAGER)
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        samples: list[float] = []
        for _ in range(runs):
            for source, target in ((BACK, THERE), (THERE, BACK)):
                body = {
                    "action": "status",
                    "status": target.value,
                    "select_across": "1",
                    "confirmed": "1",
                    "query": f"group={group.id}&status={source.value}",
                }
                started = time.perf_counter()
                response = client.post(reverse("leads:bulk"), body)
                samples.append((time.perf_counter() - started) * 1000)
                if (
                    response.status_code != 302
                    or totals_by_status(group.id)[target] != SELECT_ALL_SIZE
                ):
                    raise CommandError(
                        f"Select-all did not move every lead: {response.status_code}"
                    )
    finally:
        group.delete()
        user.delete()
    label = f"Dashboard bulk, select all {SELECT_ALL_SIZE:,} matching, confirmed"
    return [row(label, "ms", samples)]


def _moves(client: Client, ids: list[str], runs: int) -> tuple[list[float], int]:
    """Milliseconds of each move (there and back are both timed), and the most statements
    one request ran (BEGIN and COMMIT aside)."""
    samples: list[float] = []
    most = 0
    for _ in range(runs):
        for target in (THERE, BACK):
            body = {"lead_ids": ids, "status": target.value}
            counter = DataStatements()
            with connection.execute_wrapper(counter):
                started = time.perf_counter()
                response = client.post("/api/v2/leads/bulk/status", body, "application/json")
                samples.append((time.perf_counter() - started) * 1000)
            check_ok(response)
            if response.json()["updated"] != len(ids):
                raise CommandError(f"Not every lead moved: {response.json()}")
            most = max(most, counter.count)
    return samples, most


class DataStatements(StatementCounter):
    """Counts the statements that read or write data; transaction control is not counted."""

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if sql.split(None, 1)[0].upper() not in {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"}:
            self.count += 1
        return execute(sql, params, many, context)
