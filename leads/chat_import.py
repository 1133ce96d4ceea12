"""Backfill a monitored group from a chat export: every message goes through detection.

Imported messages get ids derived from their content (time as written, sender, text, and
which repeat of that triple it is), so importing the same export twice — or a later export
that overlaps an earlier one — stores and counts each message once.
"""

import hashlib
import io
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from django.db import transaction

from leads.chat_export import (
    ExportFile,
    ExportMessage,
    ExportTally,
    UnparseableLine,
    iter_messages,
    read_date_order,
)
from leads.detection import GroupMessageIn, Outcome, ingest_group_messages
from leads.models import MonitoredGroup
from leads.phones import jid_from_phone

# Messages per transaction (one `ingest_group_messages` batch): short enough not to hold
# SQLite's write lock against webhooks for long, long enough not to pay a commit per message.
CHUNK_SIZE = 500


@dataclass(frozen=True)
class ImportReport:
    messages_read: int
    members_seen: int
    leads_created: int
    already_imported: int
    system_lines: int
    date_order: str
    unparseable: tuple[UnparseableLine, ...]  # the first MAX_UNPARSEABLE_KEPT
    unparseable_count: int


def sender_jid(message: ExportMessage) -> str:
    """The contact id an imported sender gets: the real JID for a phone, else a synthetic one.

    A phone number gives `<digits>@c.us`, the same id live webhooks use, so a member's
    imported and live messages meet on one lead. A saved name gives `import:<sha1 of name>`.
    """
    if message.sender_phone:
        return jid_from_phone(message.sender_phone)
    return "import:" + hashlib.sha1(message.sender.encode(), usedforsecurity=False).hexdigest()


def _incoming(
    group: MonitoredGroup, messages: Iterable[ExportMessage], members: set[str]
) -> Iterator[GroupMessageIn]:
    """The export's messages as detection takes them, each with its content-derived id.

    The id counts repeats of (time as written, sender, text) among the messages written at
    that time; an export is in time order, so only the current time's repeats are kept.
    """
    own_phone = group.session.phone_number or None
    repeats: Counter[tuple[str, str, str]] = Counter()
    for message in messages:
        # The time as written in the file, so the id does not depend on the server's zone.
        key = (message.sent_at.replace(tzinfo=None).isoformat(), message.sender, message.text)
        if repeats and next(iter(repeats))[0] != key[0]:
            repeats.clear()
        repeats[key] += 1
        raw = "\n".join([*key, str(repeats[key])]).encode()
        jid = sender_jid(message)
        members.add(jid)
        yield GroupMessageIn(
            wa_message_id="import:" + hashlib.sha1(raw, usedforsecurity=False).hexdigest(),
            sender_jid=jid,
            sender_phone=message.sender_phone,
            sender_name="" if message.sender_phone else message.sender,
            body=message.text,
            sent_at=message.sent_at,
            from_me=own_phone is not None and message.sender_phone == own_phone,
        )


@dataclass(frozen=True)
class ImportProgress:
    """How far an import has come: what its committed chunks hold, and how far it has read."""

    messages: int = 0
    leads_created: int = 0
    already_imported: int = 0
    bytes_read: int = 0

    def after(self, outcomes: Sequence[Outcome], bytes_read: int) -> "ImportProgress":
        return ImportProgress(
            messages=self.messages + len(outcomes),
            leads_created=self.leads_created + outcomes.count(Outcome.LEAD_CREATED),
            already_imported=self.already_imported + outcomes.count(Outcome.DUPLICATE),
            bytes_read=bytes_read,
        )


class ImportTracker(Protocol):
    """Who follows an import (a background job): told how far the file has been read (in
    each pass), and inside each chunk's transaction, so what it records commits with the
    chunk or not at all."""

    def checking(self, bytes_read: int, total: int) -> None: ...

    def reading(self, bytes_read: int) -> None: ...

    def chunk_done(self, progress: ImportProgress) -> None: ...


def import_chat_export(
    group: MonitoredGroup,
    data: bytes | BinaryIO,
    *,
    tracker: ImportTracker | None = None,
    done: ImportProgress = ImportProgress(),
) -> ImportReport:
    """Run a chat export's messages through detection for `group`, and report what happened.

    The file is read twice, a block at a time: once to settle its date order, once to import
    in chunks of `CHUNK_SIZE` messages, one transaction each. `done` resumes an import whose
    first `done.messages` messages are already committed: they are read again (the report
    covers the whole file) but not stored again. Raises `ChatExportError` before writing
    anything when `data` is not a chat export.
    """
    export = ExportFile(io.BytesIO(data) if isinstance(data, bytes) else data)
    order = read_date_order(
        export.lines(lambda bytes_read: tracker.checking(bytes_read, export.size))
        if tracker
        else export.lines()
    )
    lines = export.lines(tracker.reading if tracker else None)
    tally = ExportTally()
    members: set[str] = set()
    incoming = _incoming(group, iter_messages(lines, order, tally), members)
    progress = done
    for chunk in itertools.batched(itertools.islice(incoming, done.messages, None), CHUNK_SIZE):
        with transaction.atomic():
            progress = progress.after(ingest_group_messages(group, chunk), lines.bytes_read)
            if tracker:
                tracker.chunk_done(progress)
    return ImportReport(
        messages_read=progress.messages,
        members_seen=len(members),
        leads_created=progress.leads_created,
        already_imported=progress.already_imported,
        system_lines=tally.system_lines,
        date_order=order,
        unparseable=tuple(tally.unparseable),
        unparseable_count=tally.unparseable_count,
    )


def report_lines(report: ImportReport) -> list[str]:
    """The report as plain lines, for the command line."""
    lines = [
        f"Messages read: {report.messages_read}",
        f"Members seen: {report.members_seen}",
        f"Leads created: {report.leads_created}",
        f"Already imported (skipped): {report.already_imported}",
        f"System lines skipped: {report.system_lines}",
        f"Dates read as: {report.date_order}",
        f"Unparseable lines: {report.unparseable_count}",
    ]
    lines += [f"  line {line.line_number}: {line.text}" for line in report.unparseable]
    if report.unparseable_count > len(report.unparseable):
        lines.append(f"  … and {report.unparseable_count - len(report.unparseable)} more")
    return lines
