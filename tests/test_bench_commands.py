"""`manage.py bench_all --quick` runs every benchmark and prints them in one table.

Only the table's shape is checked (every benchmark's rows are there, none failed), never a
timing: the real numbers come from a full run on PostgreSQL (see the README).
"""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from leads.bench import BenchRow, format_table, p95, percentile, row
from leads.models import Lead

# One fragment of every row the benchmarks report, per benchmark.
EXPECTED_ROWS = {
    "api": [
        "API GET /leads/{id}",
        "API GET /leads (",
        "API GET /leads?status=contacted",
        "(deep)",
        "API GET /leads/export/csv",
        "API POST /leads/bulk/status",
        "SQL stmts",
    ],
    "detection": [
        f"detection, {size} keywords ({kind})"
        for size in (10, 100, 1000)
        for kind in ("trie", "flat alternation")
    ],
    "sources": [
        "moltflow source, list page, cache miss",
        "added by the source on a miss (paired)",
        "moltflow source, list page, cache hit",
        "screens refresh: list page (",
        "screens refresh: list page + counts per status (",
    ],
    "table vs admin": ["table page vs admin changelist", "admin changelist ?lead_status__exact"],
    "board": [
        "board page (",
        "table page (",
        "board page, search 'price'",
        "board columns (htmx live refresh)",
        "board: 'new' at 480 cards (htmx)",
    ],
    "idle screens": [
        "idle screens, 5 s: server CPU ",
        "idle screens, 5 s: server memory (PSS)",
        "idle screens, 5 s: /live/events poll latency",
    ],
}


@pytest.mark.django_db
def test_bench_all_quick_prints_every_benchmarks_rows_in_one_table() -> None:
    out = io.StringIO()

    call_command("bench_all", quick=True, allow_sqlite=True, stdout=out)

    report = out.getvalue()
    table = report[report.index("bench_all:") :]
    header = table.splitlines()[1]
    for column in ("measure", "unit", "median", "p95", "peer / floor", "peer median", "ratio"):
        assert column in header
    for benchmark, fragments in EXPECTED_ROWS.items():
        for fragment in fragments:
            assert fragment in table, f"{benchmark}: no row with {fragment!r}"
    assert "failed" not in table
    assert "NOT RUN" not in table  # bench_table exists: its rows are measured, not a hook row
    assert Lead.objects.count() >= 300  # seeded through seed_demo


@pytest.mark.django_db
def test_bench_all_refuses_sqlite_unless_allowed() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("the refusal is for SQLite")
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command("bench_all", quick=True, stdout=io.StringIO())


def test_shared_percentiles_and_table_format() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 0.5) in (50.0, 51.0)
    assert p95(samples) == 95.0
    assert p95([3.0]) == 3.0

    timed = row("page", "ms", [10.0, 12.0, 11.0], "peer", [20.0, 22.0])
    assert timed == BenchRow("page", "ms", 11.0, 12.0, "peer", 21.0, 11.0 / 21.0)
    rate = row("rate", "msg/s", samples)
    assert rate.p95 == 6.0  # for a rate the tail is the slow side
    assert row("alone", "ms", [1.0]).ratio is None

    table = format_table([timed, rate]).splitlines()
    assert table[0].startswith("measure") and "ratio" in table[0]
    assert "0.52x" in table[2] and table[3].rstrip().endswith("—")
