"""Measure the CPU a 50-row leads table page costs to render, next to django-tables2's own path.

    python manage.py bench_render [--rows 50] [--runs 30]

CPU time (`time.process_time`), not wall time: the database is not in the numbers, and a busy
machine inflates them less. Three rows, from the same leads in the same run:

- the rows' cells as the page builds them (`LeadTable.lead_rows()`: each column's renderer
  looked up once per page) against django-tables2's per-cell path (`table.rows` /
  `row.items()`, which inspects a render method's signature for every cell);
- the whole page template rendered with those rows (the view's context built once);
- the whole request in process (session, user, queries, template, middleware), against the
  template alone: what is left besides rendering.
"""

import os
import time
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser
from django.template.loader import render_to_string
from django.test import Client

from leads.bench import BenchRow, check_ok, row
from leads.bench import print_table as print_rows
from leads.management.commands.bench_api import ensure_leads
from leads.sources import get_source
from leads.sources.records import LeadQuery
from leads.tables import LeadTable
from leads.views.table import _table_context

BENCH_USERNAME = "bench-render"
CELLS_PEER = "django-tables2 per-cell path"
REQUEST = "table page request, in process"


class Command(BaseCommand):
    help = "CPU to render a 50-row leads table page, next to django-tables2's per-cell path."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=50, help="rows on the page (50)")
        parser.add_argument("--runs", type=int, default=30, help="timed renders each (30)")

    def handle(self, *args: Any, rows: int, runs: int, **options: Any) -> None:
        ensure_leads(rows, self.stdout.write)
        result = measure(runs, self.stdout.write, rows=rows)
        self.stdout.write(f"load average {' '.join(f'{n:.1f}' for n in os.getloadavg())}")
        print_rows(result, self.stdout.write)


def cpu_ms(call: Callable[[], object], runs: int) -> list[float]:
    """CPU milliseconds of each of `runs` calls, after three warm-up calls."""
    for _ in range(3):
        call()
    samples = []
    for _ in range(runs):
        started = time.process_time()
        call()
        samples.append((time.process_time() - started) * 1000)
    return samples


def measure(runs: int, log: Callable[[str], object], rows: int = 50) -> list[BenchRow]:
    """The cells (new path vs django-tables2's), the page template and the whole request."""
    records = list(get_source().list_leads(LeadQuery(), limit=rows, count_total=False).rows)
    log(f"Rendering {len(records)} rows; {runs} runs each (CPU ms), after 3 warm-up runs.")

    def old_cells() -> list[object]:
        return [cell for bound in LeadTable(records).rows for _, cell in bound.items()]

    client = Client(HTTP_HOST="localhost")
    client.force_login(_manager())
    query = {"page_size": str(rows)}
    request = check_ok(client.get("/leads/", query)).wsgi_request
    context = _table_context(request, get_source())

    cells = cpu_ms(lambda: LeadTable(records, selectable=True).lead_rows(), runs)
    peer = cpu_ms(old_cells, runs)
    template = cpu_ms(lambda: render_to_string("leads/table.html", context, request), runs)
    whole = cpu_ms(lambda: check_ok(client.get("/leads/", query)), runs)
    shown = len(records)
    return [
        row(f"{shown}-row cells, LeadTable.lead_rows()", "ms CPU", cells, CELLS_PEER, peer),
        row(f"table page template, {shown} rows", "ms CPU", template),
        row(REQUEST, "ms CPU", whole, "its template alone", template),
    ]


def _manager() -> User:
    """A manager: the page shows the bulk checkboxes and actions, as a manager sees it."""
    user, _ = User.objects.get_or_create(username=BENCH_USERNAME, defaults={"is_active": True})
    user.groups.add(Group.objects.get_or_create(name="manager")[0])
    return user
