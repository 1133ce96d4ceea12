"""Measure ingest end to end: messages per second into the database, on one core.

    DATABASE_URL=postgres://… python manage.py bench_ingest [--messages 6000] [--quick]

One process, the database it is pointed at (PostgreSQL or SQLite), a realistic mix: several
monitored groups (half in intent mode, half in keyword mode, each with its topic's keywords),
most messages everyday chatter, about one in twenty a buyer's (from the labelled intent
corpus), as many sellers and notices on the same topics. Every path is the real one, database
writes included:

- batch: `detection.ingest_group_messages`, a chunk at a time — what the chat import runs;
- chat import: `import_chat_export` on a generated export (parsing included);
- one message per transaction: `waha.apply_event` per message — the webhook minus HTTP;
- webhook: a signed `POST /webhooks/waha` per message through Django's test client.

The stream is cut into pieces and each piece gives one rate, so the table shows a median and
a slow tail. Each path's rows carry the SQL statements per message. The benchmark's own
session and groups are deleted afterwards.
"""

import json
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.test import Client, override_settings

from leads.bench import BenchRow, StatementCounter, check_ok, print_table, row
from leads.chat_import import CHUNK_SIZE, import_chat_export
from leads.detection import GroupMessageIn, Outcome, ingest_group_messages
from leads.intent_corpus import load_split
from leads.management.commands.bench_detection import keyword_set, message_stream
from leads.models import MonitoredGroup, MonitorMode, Session
from leads.waha import WahaEvent, WahaMessage, apply_event, sign

Log = Callable[[str], object]
SESSION_NAME = "bench-ingest"
OWN_JID = "972500000000@c.us"
MEMBERS_PER_GROUP = 300
KEYWORDS_PER_GROUP = 50


@dataclass(frozen=True)
class Mix:
    """The generated groups' messages, each group's in the order they were sent."""

    by_group: dict[MonitoredGroup, list[GroupMessageIn]]

    def interleaved(self) -> list[tuple[MonitoredGroup, GroupMessageIn]]:
        """All messages in the order they were sent, across groups (as webhooks arrive)."""
        pairs = [(group, message) for group, items in self.by_group.items() for message in items]
        return sorted(pairs, key=lambda pair: pair[1].sent_at)


def make_groups(session: Session, count: int, rng: random.Random) -> list[MonitoredGroup]:
    """`count` active groups, alternately intent and keyword mode, with their keywords."""
    return [
        MonitoredGroup.objects.create(
            session=session,
            wa_group_id=f"1203639{n:05d}@g.us",
            name=f"Bench ingest {n}",
            monitor_mode=MonitorMode.INTENT if n % 2 == 0 else MonitorMode.KEYWORDS,
            monitor_keywords=keyword_set(KEYWORDS_PER_GROUP, rng),
        )
        for n in range(count)
    ]


def make_mix(groups: Sequence[MonitoredGroup], messages: int, rng: random.Random) -> Mix:
    """`messages` messages spread over `groups` (see the module docstring for the mix)."""
    corpus = load_split("tune") + load_split("measure")
    buyers = [example.text for example in corpus if example.lead]
    others = [example.text for example in corpus if not example.lead]
    chatter = message_stream(messages, keyword_set(20, rng), rng)
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    by_group: dict[MonitoredGroup, list[GroupMessageIn]] = {group: [] for group in groups}
    for n in range(messages):
        group = groups[n % len(groups)]
        draw = rng.random()
        body = chatter[n]
        if draw < 0.1:
            body = rng.choice(buyers if draw < 0.05 else others)
        member = rng.randrange(MEMBERS_PER_GROUP)
        phone = f"+9725{group.wa_group_id[7:12]}{member:03d}"
        by_group[group].append(
            GroupMessageIn(
                wa_message_id=f"bench-{uuid.uuid4().hex}",
                sender_jid=f"{phone[1:]}@c.us",
                sender_phone=phone,
                sender_name=f"Member {member}",
                body=body,
                sent_at=start + timedelta(seconds=7 * n),
            )
        )
    return Mix(by_group)


def _pieces[T](items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


@dataclass
class PathResult:
    rates: list[float]
    statements: int
    messages: int
    outcomes: Counter[str]
    cpu_seconds: float  # this process's CPU time
    database_cpu_seconds: float  # its PostgreSQL backend's, when on this machine (else 0)

    def per_cpu_second(self) -> str:
        """Messages per CPU-second: what one core, undisturbed, would ingest."""
        own = self.messages / self.cpu_seconds
        if not self.database_cpu_seconds:
            return f"{own:,.0f} msg per CPU-second (this process, database included)"
        total = self.messages / (self.cpu_seconds + self.database_cpu_seconds)
        return (
            f"{own:,.0f} msg per CPU-second of this process, {total:,.0f} counting its "
            "PostgreSQL backend's CPU too"
        )

    def label(self, name: str) -> str:
        per_message = self.statements / max(1, self.messages)
        return f"{name} ({per_message:.2f} SQL/msg)"


def _run(
    pieces: Sequence[Sequence[Any]], ingest: Callable[[Sequence[Any]], list[str]]
) -> PathResult:
    """Rates per piece of `ingest`, counting its SQL statements and outcomes."""
    counter = StatementCounter()
    rates: list[float] = []
    outcomes: Counter[str] = Counter()
    cpu = _CpuClock()
    with connection.execute_wrapper(counter):
        for piece in pieces:
            started = time.perf_counter()
            outcomes.update(ingest(piece))
            rates.append(len(piece) / (time.perf_counter() - started))
    messages = sum(len(piece) for piece in pieces)
    return PathResult(rates, counter.count, messages, outcomes, *cpu.elapsed())


class _CpuClock:
    """CPU seconds spent since it was made: this process's, and its PostgreSQL backend's
    (read from /proc when the server runs on this machine, as in development and CI)."""

    def __init__(self) -> None:
        self.started = (time.process_time(), _database_cpu())

    def elapsed(self) -> tuple[float, float]:
        own, database = self.started
        return time.process_time() - own, _database_cpu() - database


def _database_cpu() -> float:
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        # Fields after the command name: utime and stime are the 12th and 13th.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0  # a server elsewhere: its CPU is not ours to read
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def batch_path(mix: Mix, piece_size: int) -> PathResult:
    """The chat import's inner loop: each group's messages, a chunk per transaction."""
    pieces = [
        chunk
        for group, items in mix.by_group.items()
        for chunk in _pieces([(group, message) for message in items], piece_size)
    ]

    def ingest(piece: Sequence[tuple[MonitoredGroup, GroupMessageIn]]) -> list[str]:
        outcomes: list[str] = []
        group = piece[0][0]
        for chunk in _pieces([message for _, message in piece], CHUNK_SIZE):
            outcomes += ingest_group_messages(group, chunk)
        return outcomes

    return _run(pieces, ingest)


def single_path(mix: Mix, session: Session, piece_size: int) -> PathResult:
    """One event per transaction through `apply_event`, as the webhook view runs it."""

    def ingest(piece: Sequence[tuple[MonitoredGroup, GroupMessageIn]]) -> list[str]:
        return [apply_event(_event(session, group, message)) for group, message in piece]

    return _run(_pieces(mix.interleaved(), piece_size), ingest)


def webhook_path(mix: Mix, session: Session, piece_size: int) -> PathResult:
    """A signed POST per message to the WAHA webhook, in-process (no network)."""
    secret = settings.WAHA_WEBHOOK_SECRET or "bench-ingest-secret"
    client = Client(HTTP_HOST="localhost")

    def ingest(piece: Sequence[tuple[MonitoredGroup, GroupMessageIn]]) -> list[str]:
        results = []
        for group, message in piece:
            body = _webhook_body(session, group, message)
            headers = {"X-Webhook-Hmac": sign(secret, body), "X-Webhook-Hmac-Algorithm": "sha512"}
            response = check_ok(
                client.post(
                    "/webhooks/waha", body, "application/json", headers=headers, secure=True
                )
            )
            results.append(response.json()["result"])
        return results

    with override_settings(WAHA_WEBHOOK_SECRET=secret):
        return _run(_pieces(mix.interleaved(), piece_size), ingest)


def import_path(mix: Mix, piece_size: int) -> PathResult:
    """`import_chat_export` on each group's messages written out as an Android export."""
    pieces = [
        (group, _export_text(chunk))
        for group, items in mix.by_group.items()
        for chunk in _pieces(items, piece_size)
    ]
    counter = StatementCounter()
    rates: list[float] = []
    messages = 0
    outcomes: Counter[str] = Counter()
    cpu = _CpuClock()
    with connection.execute_wrapper(counter):
        for group, (count, data) in pieces:
            started = time.perf_counter()
            report = import_chat_export(group, data)
            rates.append(count / (time.perf_counter() - started))
            messages += count
            outcomes[Outcome.LEAD_CREATED] += report.leads_created
    return PathResult(rates, counter.count, messages, outcomes, *cpu.elapsed())


def _export_text(messages: Sequence[GroupMessageIn]) -> tuple[int, bytes]:
    lines = [
        f"{message.sent_at:%d/%m/%Y, %H:%M} - {message.sender_phone}: "
        + " ".join(message.body.split())
        for message in messages
    ]
    return len(lines), "\n".join(lines).encode()


def _event(session: Session, group: MonitoredGroup, message: GroupMessageIn) -> WahaEvent:
    return WahaEvent(
        kind="message",
        session_name=session.name,
        me_jid=OWN_JID,
        message=WahaMessage(
            id=message.wa_message_id,
            chat_jid=group.wa_group_id,
            sender_jid=message.sender_jid,
            sender_phone=message.sender_phone,
            sender_name=message.sender_name,
            from_me=False,
            body=message.body,
            sent_at=message.sent_at,
        ),
    )


def _webhook_body(session: Session, group: MonitoredGroup, message: GroupMessageIn) -> bytes:
    return json.dumps(
        {
            "event": "message",
            "session": session.name,
            "me": {"id": OWN_JID},
            "payload": {
                "id": message.wa_message_id,
                "from": group.wa_group_id,
                "participant": message.sender_jid,
                "fromMe": False,
                "body": message.body,
                "timestamp": int(message.sent_at.timestamp()),
                "_data": {"notifyName": message.sender_name},
            },
        }
    ).encode()


def measure(
    messages: int, groups: int, log: Log, *, seed: int = 11, pieces: int = 12
) -> list[BenchRow]:
    """Ingest rates of every path on a fresh mix each (so no path finds the others' rows)."""
    Session.objects.filter(name=SESSION_NAME).delete()
    session = Session.objects.create(name=SESSION_NAME, status="WORKING", me_jid=OWN_JID)
    try:
        rng = random.Random(seed)
        group_rows = make_groups(session, groups, rng)
        piece_size = max(1, messages // pieces)
        # The webhook paths are slower: a quarter of the messages give them enough samples.
        slow = max(groups, messages // 4)
        results = {
            "batch": batch_path(make_mix(group_rows, messages, rng), piece_size),
            "import": import_path(make_mix(group_rows, messages, rng), piece_size),
            "single": single_path(make_mix(group_rows, slow, rng), session, max(1, slow // pieces)),
            "webhook": webhook_path(
                make_mix(group_rows, slow, rng), session, max(1, slow // pieces)
            ),
        }
    finally:
        Session.objects.filter(name=SESSION_NAME).delete()
    for name, result in results.items():
        outcomes = ", ".join(f"{key} {n}" for key, n in sorted(result.outcomes.items()))
        log(f"Ingest {name}: {result.messages:,} messages; {outcomes}; {result.per_cpu_second()}.")
    single = results["single"].rates
    vendor = connection.vendor
    return [
        row(
            results["batch"].label(f"ingest, batch of {CHUNK_SIZE} (import path), {vendor}"),
            "msg/s",
            results["batch"].rates,
            "one message per transaction",
            single,
        ),
        row(
            results["import"].label(f"chat import incl. parsing, {vendor}"),
            "msg/s",
            results["import"].rates,
            "one message per transaction",
            single,
        ),
        row(
            results["single"].label(f"ingest, one message per transaction (apply_event), {vendor}"),
            "msg/s",
            single,
        ),
        row(
            results["webhook"].label(f"webhook POST, one message per request, {vendor}"),
            "msg/s",
            results["webhook"].rates,
            "one message per transaction",
            single,
        ),
    ]


class Command(BaseCommand):
    help = "Print end-to-end ingest throughput (messages/second, one process) on this database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--messages", type=int, default=6000, help="messages per batch path")
        parser.add_argument("--groups", type=int, default=6, help="monitored groups")
        parser.add_argument("--quick", action="store_true", help="a few hundred messages")

    def handle(self, *args: Any, messages: int, groups: int, quick: bool, **options: Any) -> None:
        if quick:
            messages = min(messages, 240)
        self.stdout.write(
            f"Ingest of {messages:,} messages over {groups} groups on {connection.vendor}, "
            "one process. Higher is better; p95 is the slowest 5% of pieces."
        )
        print_table(measure(messages, groups, self.stdout.write), self.stdout.write)
