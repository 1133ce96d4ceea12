"""The benchmarks' shared vocabulary: one result row, percentiles, and one table format.

Every `bench_*` command measures through a function that returns `list[BenchRow]`, so
`manage.py bench_all` can run them all and print one table, and each command on its own can
print the same table.

A row compares what was measured with a peer (an alternative doing the same work, such as the
Django admin's changelist or a naive matcher) or a floor (the least the same path can cost,
such as a one-lead request) measured in the same run, so machine speed and load cancel out
of the ratio. The ratio is always `median / peer_median`: below 1 for a time means faster
than the peer, above 1 for a rate (msg/s) means more throughput than the peer.
"""

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from django.db import connection
from django.http import HttpResponseBase

# Units where more is better: their "p95" is the slow tail, i.e. the 5th percentile.
HIGHER_IS_BETTER = frozenset({"msg/s"})


class SimulatedTime:
    """A clock that moves only when someone waits on it (simulations, tests)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


@dataclass(frozen=True)
class BenchRow:
    """One measured quantity, with what it was compared against in the same run."""

    measure: str
    unit: str
    median: float
    p95: float
    peer: str | None = None
    peer_median: float | None = None
    ratio: float | None = None


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The sample at `fraction` (0..1) of the sorted samples, by nearest rank.

    Nearest rank, not interpolation: every value printed is one that was actually observed.
    """
    if not samples:
        raise ValueError("percentile of no samples")
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def p95(samples: Sequence[float]) -> float:
    """The 95th percentile: the slow tail of a time, the high end of a count."""
    return percentile(samples, 0.95)


def ratio(median: float, peer_median: float | None) -> float | None:
    """`median / peer_median`, or None when there is no peer or it is zero (a 0 ms floor
    says nothing to divide by)."""
    if peer_median is None or peer_median == 0:
        return None
    return median / peer_median


def row(
    measure: str,
    unit: str,
    samples: Sequence[float],
    peer: str | None = None,
    peer_samples: Sequence[float] | None = None,
) -> BenchRow:
    """A row from raw samples (and the peer's samples, when there is a peer).

    For units where more is better (rates) the p95 is taken on the slow side, so the p95
    column always means "the worst 5% were at least this bad".
    """
    tail = 0.05 if unit in HIGHER_IS_BETTER else 0.95
    peer_median = statistics.median(peer_samples) if peer_samples else None
    median = statistics.median(samples)
    return BenchRow(
        measure=measure,
        unit=unit,
        median=median,
        p95=percentile(samples, tail),
        peer=peer,
        peer_median=peer_median,
        ratio=ratio(median, peer_median),
    )


def _number(value: float | None) -> str:
    """Readable at a glance: thousands separated, decimals only where they carry meaning."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_table(rows: Sequence[BenchRow]) -> str:
    """The rows as one aligned plain-text table (no third-party formatter: it is pasted into
    issues and closing notes as is)."""
    header = ("measure", "unit", "median", "p95", "peer / floor", "peer median", "ratio")
    cells = [header] + [
        (
            item.measure,
            item.unit,
            _number(item.median),
            _number(item.p95),
            item.peer or "—",
            _number(item.peer_median),
            "—" if item.ratio is None else f"{item.ratio:.2f}x",
        )
        for item in rows
    ]
    widths = [max(len(line[column]) for line in cells) for column in range(len(header))]
    # Text columns left-aligned, numbers right-aligned.
    numeric = {2, 3, 5, 6}

    def render(line: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(widths[n]) if n in numeric else cell.ljust(widths[n])
            for n, cell in enumerate(line)
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([render(header), rule, *(render(line) for line in cells[1:])])


def print_table(rows: Sequence[BenchRow], write: Callable[[str], object]) -> None:
    """Write the table through `write` (a command's `self.stdout.write`)."""
    write(format_table(rows))


class StatementCounter:
    """Counts SQL statements as they run (whatever DEBUG says and however long the run).

    Install with `connection.execute_wrapper(counter)`.
    """

    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def check_ok[R: HttpResponseBase](response: R) -> R:
    """The response, if it is a 200; a benchmark of error pages would measure nothing."""
    if response.status_code != 200:
        # A streamed response has no `content`; its status says enough.
        content = getattr(response, "content", b"")
        raise RuntimeError(f"{response.status_code}: {content[:300]!r}")
    return response


def timed_requests(call: Callable[[], HttpResponseBase], runs: int) -> tuple[list[float], int]:
    """Milliseconds per run after three warm-up runs, and the SQL statements of one run."""
    for _ in range(3):
        check_ok(call())
    counter = StatementCounter()
    with connection.execute_wrapper(counter):
        check_ok(call())
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - started) * 1000)
        check_ok(response)
    return samples, counter.count


def time_pages(
    pages: dict[str, Callable[[], HttpResponseBase]], peers: dict[str, str], runs: int
) -> list[BenchRow]:
    """Time every request in `pages`; a label in `peers` is compared with its peer's median."""
    measured = {label: timed_requests(call, runs) for label, call in pages.items()}
    return [
        row(
            f"{label} ({statements} SQL)",
            "ms",
            samples,
            peers.get(label),
            measured[peers[label]][0] if label in peers else None,
        )
        for label, (samples, statements) in measured.items()
    ]


def write_sample_chat_export(
    out: IO[str], messages: int, members: int = 2000, filler: str = ""
) -> None:
    """A generated Android export (day/month, 24-hour) of `messages` member messages: phone
    senders, one message in 50 asking the price, some continuation and system lines; about
    100 bytes a message, so 517,000 messages make the 50 MB of issue 12. A `filler` is a
    further line of every message."""
    start = datetime(2023, 1, 1, 8, 0)
    for n in range(messages):
        stamp = (start + timedelta(minutes=n // 3)).strftime("%d/%m/%Y, %H:%M")
        member = (n * 7919) % members
        sender = f"+972 52-{member // 10000:03d}-{member % 10000:04d}"
        text = "what's the price of the flat on Herzl street?" if n % 50 == 0 else "thanks"
        text = f"message {n} about the listings today in the north, {text}"
        out.write(f"{stamp} - {sender}: {text}\n")
        if filler:
            out.write(f"{filler}\n")
        if n % 100 == 1:
            out.write("and one more line about it\n")
        if n % 1000 == 2:
            out.write(f"{stamp} - Dana joined using this group's invite link\n")
