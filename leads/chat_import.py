"""Backfill a monitored group from a chat export: every message goes through detection.

Imported messages get ids derived from their content (time as written, sender, text, and
which repeat of that triple it is), so importing the same export twice — or a later export
that overlaps an earlier one — stores and counts each message once.
"""

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from leads.chat_export import ExportMessage, UnparseableLine, read_chat_export
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
    unparseable: tuple[UnparseableLine, ...]


def sender_jid(message: ExportMessage) -> str:
    """The contact id an imported sender gets: the real JID for a phone, else a synthetic one.

    A phone number gives `<digits>@c.us`, the same id live webhooks use, so a member's
    imported and live messages meet on one lead. A saved name gives `import:<sha1 of name>`.
    """
    if message.sender_phone:
        return jid_from_phone(message.sender_phone)
    return "import:" + hashlib.sha1(message.sender.encode(), usedforsecurity=False).hexdigest()


def _message_ids(messages: Sequence[ExportMessage]) -> list[str]:
    seen: Counter[tuple[str, str, str]] = Counter()
    ids = []
    for message in messages:
        # The time as written in the file, so the id does not depend on the server's zone.
        key = (message.sent_at.replace(tzinfo=None).isoformat(), message.sender, message.text)
        seen[key] += 1
        raw = "\n".join([*key, str(seen[key])]).encode()
        ids.append("import:" + hashlib.sha1(raw, usedforsecurity=False).hexdigest())
    return ids


def _chunks[T](items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def import_chat_export(group: MonitoredGroup, data: bytes) -> ImportReport:
    """Run a chat export's messages through detection for `group`, and report what happened.

    Raises `ChatExportError` before writing anything when `data` is not a chat export.
    """
    export = read_chat_export(data)
    own_phone = group.session.phone_number or None
    incoming = [
        GroupMessageIn(
            wa_message_id=message_id,
            sender_jid=sender_jid(message),
            sender_phone=message.sender_phone,
            sender_name="" if message.sender_phone else message.sender,
            body=message.text,
            sent_at=message.sent_at,
            from_me=own_phone is not None and message.sender_phone == own_phone,
        )
        for message_id, message in zip(_message_ids(export.messages), export.messages, strict=True)
    ]
    outcomes: Counter[Outcome] = Counter()
    for chunk in _chunks(incoming, CHUNK_SIZE):
        outcomes.update(ingest_group_messages(group, chunk))
    return ImportReport(
        messages_read=len(export.messages),
        members_seen=len({sender_jid(message) for message in export.messages}),
        leads_created=outcomes[Outcome.LEAD_CREATED],
        already_imported=outcomes[Outcome.DUPLICATE],
        system_lines=export.system_lines,
        date_order=export.date_order,
        unparseable=export.unparseable,
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
        f"Unparseable lines: {len(report.unparseable)}",
    ]
    lines += [f"  line {line.line_number}: {line.text}" for line in report.unparseable]
    return lines
