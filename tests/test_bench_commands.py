"""The benchmark commands' wiring, never a benchmark: those run by `bash dev.sh bench`.

CI smoke-runs `bash dev.sh bench --quick` once, with a timeout (see .ci/run); here are only
the fast checks: the shared percentile and table helpers, the refusal of SQLite, and that a
failing upstream call cannot leave the loopback server waiting forever on a connection.
"""

import gc
import io
import threading
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from leads.bench import BenchRow, format_table, p95, percentile, row
from leads.management.commands import bench_sources


@pytest.mark.django_db
def test_bench_all_refuses_sqlite_unless_allowed() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("the refusal is for SQLite")
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command("bench_all", quick=True, stdout=io.StringIO())


def test_shared_percentiles_and_table_format() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile([9.0, 1.0, 5.0, 3.0, 7.0], 0.5) == 5.0  # the middle of five, unsorted
    assert percentile(samples, 0.0) == 1.0 and percentile(samples, 1.0) == 100.0
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


def failing_upstream(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    """An upstream that answers every request with a 500 and keeps the connection alive."""
    body = b'{"detail": "down"}'
    start_response(
        "500 Internal Server Error",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def test_a_failing_upstream_call_leaves_no_connection_to_hang_the_servers_close() -> None:
    server = ExitStack()
    base_url = server.enter_context(bench_sources.loopback_api(failing_upstream))
    with pytest.raises(httpx.HTTPStatusError) as failure:
        bench_sources.latency(base_url, "mf_not_a_real_key", iterations=1)

    # Closing the server joins its handler threads; one still serving a kept-alive
    # connection waits until the client hangs up. Close it off the test's thread.
    closing = threading.Thread(target=server.close, daemon=True)
    closing.start()
    closing.join(timeout=15)
    hung = closing.is_alive()
    if hung:  # free the leaked client (held by the traceback) so this process can exit
        del failure
        gc.collect()
        closing.join(timeout=15)
    assert not hung, "the benchmark left a connection open after the upstream failed"
