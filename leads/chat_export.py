"""WhatsApp chat exports (CONTRACT §3): read a phone's "Export chat" `.txt` (or its `.zip`).

Pure parsing: nothing here touches the database. Every format of §3 is accepted:

    [25/12/2023, 14:03:51] Dana Levi: text               iOS, often with U+200E in front
    [1/9/24, 2:04:31 PM] Dana Levi: text                 iOS, 12-hour clock
    25/12/2023, 14:03 - Dana Levi: text                  Android
    12/25/23, 2:03 PM - +972 52-123-4567: text           Android, 12-hour (U+202F before PM)

A line without a timestamp continues the message above it. Lines with a timestamp but no
`Name: ` part (joins, "Messages and calls are end-to-end encrypted"), and media placeholders,
are system lines, not member messages. Whether dates are day/month or month/day is decided
once for the whole file.
"""

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from django.utils import timezone

from leads.phones import normalise_phone

MAX_TEXT_BYTES = 50 * 1024 * 1024

_SPACE = r"[ \t\u00a0\u202f]"
_STAMP = (
    r"(?P<d1>\d{1,4})[./-](?P<d2>\d{1,2})[./-](?P<d3>\d{1,4})\.?,?" + _SPACE + r"+"
    r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?:[:.](?P<second>\d{2}))?"
    r"(?:" + _SPACE + r"*(?P<ampm>[aApP]\.?" + _SPACE + r"?[mM]\.?))?"
)
_IOS_LINE = re.compile(r"\[" + _STAMP + r"\]" + _SPACE + r"?(?P<rest>.*)", re.DOTALL)
_ANDROID_LINE = re.compile(_STAMP + _SPACE + r"*[-–]" + _SPACE + r"?(?P<rest>.*)", re.DOTALL)

# Direction and zero-width marks WhatsApp puts around names, phones and system lines.
_MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u200b"
# Placeholders WhatsApp writes instead of a message's content (English exports).
_PLACEHOLDERS = frozenset(
    {
        "<media omitted>",
        "image omitted",
        "video omitted",
        "audio omitted",
        "sticker omitted",
        "gif omitted",
        "document omitted",
        "contact card omitted",
        "this message was deleted",
        "you deleted this message",
        "null",
    }
)
_EDITED = "<This message was edited>"
_PHONE_LIKE = re.compile(r"^\+?[\d\s\-\u2011().]{7,}$")
# Longer "senders" are the first half of a system line that happens to contain ": ".
_MAX_SENDER_LENGTH = 80


class ChatExportError(Exception):
    """The file is not a chat export this importer can read; the message says why."""


@dataclass(frozen=True)
class ExportMessage:
    line_number: int  # of the message's first line, counting from 1
    sent_at: datetime
    sender: str  # as the export writes it, direction marks removed
    sender_phone: str | None  # E.164 when the sender is a phone number with its country code
    text: str


@dataclass(frozen=True)
class UnparseableLine:
    line_number: int
    text: str


@dataclass(frozen=True)
class ChatExport:
    messages: tuple[ExportMessage, ...]
    unparseable: tuple[UnparseableLine, ...]
    system_lines: int
    date_order: str  # "day/month", "month/day" or "year/month/day"


@dataclass
class _Stamped:
    """A line that starts with a timestamp, before the file's date order is known."""

    line_number: int
    line: str
    parts: dict[str, str]
    rest: str
    continuation: list[str] = field(default_factory=list)


def read_chat_export(data: bytes, tz: tzinfo | None = None) -> ChatExport:
    """Parse an uploaded export: the `.txt` itself, or a `.zip` holding one chat `.txt`."""
    if data[:4] == b"PK\x03\x04":
        data = _text_from_zip(data)
    return parse_chat_text(_decode(data), tz)


def _text_from_zip(data: bytes) -> bytes:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        texts = [
            info
            for info in archive.infolist()
            if info.filename.lower().endswith(".txt")
            and not info.is_dir()
            and not info.filename.startswith("__MACOSX/")
        ]
        if len(texts) > 1:
            # WhatsApp names the chat `_chat.txt` (iOS) or "WhatsApp Chat with …" (Android);
            # other .txt files in an export with media are attachments.
            chats = [i for i in texts if i.filename.rsplit("/", 1)[-1].lower() == "_chat.txt"]
            chats = chats or [i for i in texts if "whatsapp" in i.filename.lower()]
            texts = chats if len(chats) == 1 else texts
        if len(texts) != 1:
            raise ChatExportError(
                f"The zip file holds {len(texts)} .txt files; it should hold exactly one chat."
            )
        info = texts[0]
        if info.file_size > MAX_TEXT_BYTES:
            raise ChatExportError("The chat inside the zip file is larger than 50 MB.")
        with archive.open(info) as member:
            # Read one byte past the limit: the size in the header may lie.
            content = member.read(MAX_TEXT_BYTES + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as error:
        raise ChatExportError(f"The zip file cannot be read ({error}).") from None
    if len(content) > MAX_TEXT_BYTES:
        raise ChatExportError("The chat inside the zip file is larger than 50 MB.")
    return content


def _decode(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise ChatExportError(
            "This file is not a WhatsApp chat export: it is not UTF-8 text."
        ) from None
    if "\x00" in text:
        raise ChatExportError("This file is not a WhatsApp chat export: it is a binary file.")
    return text


def parse_chat_text(text: str, tz: tzinfo | None = None) -> ChatExport:
    """Parse an export's text; naive times are read in `tz` (default: the current zone)."""
    tz = tz or timezone.get_current_timezone()
    stamped: list[_Stamped] = []
    unparseable: list[UnparseableLine] = []
    # Split on newlines only: str.splitlines() would also break on separators a message may hold.
    for number, raw_line in enumerate(text.split("\n"), start=1):
        line = raw_line.rstrip("\r")
        bare = line.lstrip(_MARKS)
        match = _IOS_LINE.fullmatch(bare) or _ANDROID_LINE.fullmatch(bare)
        if match:
            parts = {k: v for k, v in match.groupdict().items() if v is not None and k != "rest"}
            stamped.append(_Stamped(number, line, parts, match.group("rest")))
        elif stamped:
            stamped[-1].continuation.append(line)
        elif line.strip(_MARKS + " \t"):
            unparseable.append(UnparseableLine(number, line[:200]))
    if not stamped:
        raise ChatExportError(
            "This file is not a WhatsApp chat export: no line starts with a date and time."
        )
    order = _date_order(stamped)
    messages: list[ExportMessage] = []
    system_lines = 0
    for item in stamped:
        sent_at = _datetime(item.parts, order, tz)
        if sent_at is None:
            unparseable.append(UnparseableLine(item.line_number, item.line[:200]))
            continue
        message = _member_message(item, sent_at)
        if message is None:
            system_lines += 1
        else:
            messages.append(message)
    unparseable.sort(key=lambda line: line.line_number)
    return ChatExport(
        messages=tuple(messages),
        unparseable=tuple(unparseable),
        system_lines=system_lines,
        date_order=order,
    )


def _date_order(stamped: list[_Stamped]) -> str:
    """Day/month or month/day for the whole file: a number above 12 settles it.

    When no date settles it (every day so far is 12 or less), the reading under which the
    dates run forward in time wins, since an export is in order; failing that, a 12-hour clock
    suggests a US phone (month/day), and anything else day/month, the commoner order.
    """
    if any(len(item.parts["d1"]) == 4 for item in stamped):
        return "year/month/day"
    day_first_evidence = any(int(item.parts["d1"]) > 12 for item in stamped)
    month_first_evidence = any(int(item.parts["d2"]) > 12 for item in stamped)
    if day_first_evidence != month_first_evidence:
        return "day/month" if day_first_evidence else "month/day"
    if day_first_evidence:  # contradictory file: keep the reading that fits more lines
        day_first_fits = sum(int(item.parts["d2"]) <= 12 for item in stamped)
        month_first_fits = sum(int(item.parts["d1"]) <= 12 for item in stamped)
        return "day/month" if day_first_fits >= month_first_fits else "month/day"
    backwards = {order: _steps_backwards(stamped, order) for order in ("day/month", "month/day")}
    if backwards["day/month"] != backwards["month/day"]:
        return min(backwards, key=lambda order: backwards[order])
    twelve_hour = any("ampm" in item.parts for item in stamped)
    return "month/day" if twelve_hour else "day/month"


def _steps_backwards(stamped: list[_Stamped], order: str) -> int:
    dates = [_date_key(item.parts, order) for item in stamped]
    return sum(1 for a, b in zip(dates, dates[1:], strict=False) if a and b and b < a)


def _date_key(parts: dict[str, str], order: str) -> tuple[int, int, int] | None:
    first, second, third = int(parts["d1"]), int(parts["d2"]), int(parts["d3"])
    if order == "year/month/day":
        year, month, day = first, second, third
    elif order == "day/month":
        day, month, year = first, second, third
    else:
        month, day, year = first, second, third
    if year < 100:
        year += 2000
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return (year, month, day)


def _datetime(parts: dict[str, str], order: str, tz: tzinfo) -> datetime | None:
    key = _date_key(parts, order)
    if key is None:
        return None
    hour, minute, second = int(parts["hour"]), int(parts["minute"]), int(parts.get("second", 0))
    ampm = parts.get("ampm")
    if ampm:
        if not 1 <= hour <= 12:
            return None
        is_pm = ampm.lower().startswith("p")
        hour = hour % 12 + (12 if is_pm else 0)
    try:
        naive = datetime(key[0], key[1], key[2], hour, minute, second)
    except ValueError:  # 31 February, hour 25 and the like
        return None
    return timezone.make_aware(naive, tz)


def _member_message(item: _Stamped, sent_at: datetime) -> ExportMessage | None:
    """The member message a stamped line holds, or None for a system line or a placeholder."""
    sender, separator, first_line = item.rest.partition(": ")
    if not separator and item.rest.endswith(":"):
        sender, separator, first_line = item.rest[:-1], ":", ""
    sender = sender.strip(_MARKS + " ").strip()
    if (
        not separator
        or not sender
        or len(sender) > _MAX_SENDER_LENGTH
        or any(quote in sender for quote in '"“”«»')
    ):
        return None
    # iOS marks system notices and attachments with U+200E at the start of the text.
    if first_line.startswith("\u200e"):
        return None
    body = "\n".join([first_line, *item.continuation]).rstrip()
    body = body.removesuffix(_EDITED).rstrip()
    if body.strip(_MARKS + " ").casefold() in _PLACEHOLDERS:
        return None
    sender = unicodedata.normalize("NFC", "".join(ch for ch in sender if ch not in _MARKS))
    phone = normalise_phone(sender) if _PHONE_LIKE.match(sender) else None
    return ExportMessage(
        line_number=item.line_number,
        sent_at=sent_at,
        sender=sender,
        sender_phone=phone,
        text=body,
    )
