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

import codecs
import functools
import io
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import IO, BinaryIO, Protocol

from django.utils import timezone

from leads.phones import default_region, normalise_phone

MAX_TEXT_BYTES = 50 * 1024 * 1024
# A report lists this many unreadable lines and counts the rest.
MAX_UNPARSEABLE_KEPT = 200
# WhatsApp refuses to send a longer message; anything longer is not one message.
MAX_MESSAGE_CHARS = 65_536
_MAX_LINE_CHARS = 1024 * 1024
_BLOCK_BYTES = 64 * 1024

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
    length: int = 0

    def add(self, line: str) -> None:
        """A continuation line; past WhatsApp's longest message the rest is dropped."""
        if self.length < MAX_MESSAGE_CHARS:
            self.continuation.append(line)
            self.length += len(line) + 1


class ExportFile:
    """An uploaded export on a seekable binary stream: the `.txt` itself, or a `.zip` holding
    one chat `.txt`. Each `lines()` reads it again from the start, in constant memory."""

    def __init__(self, binary: BinaryIO) -> None:
        binary.seek(0)
        self._binary = binary
        self._zipped: tuple[zipfile.ZipFile, zipfile.ZipInfo] | None = None
        if binary.read(4) == b"PK\x03\x04":
            self._zipped = _chat_in_zip(binary)
            self.size = self._zipped[1].file_size
        else:
            self.size = binary.seek(0, io.SEEK_END)

    def lines(self, on_read: Callable[[int], None] | None = None) -> "ExportLines":
        zipped = self._zipped
        if zipped is not None:
            return ExportLines(lambda: _zip_member(*zipped), on_read)
        return ExportLines(self._rewound, on_read)

    def _rewound(self) -> "_Readable":
        self._binary.seek(0)
        return self._binary


class ExportLines:
    """An export's lines, decoded block by block: "\r" dropped, split on "\n" only
    (str.splitlines() would also break on separators a message may hold).

    `bytes_read` says how far into the file the lines so far reach. Refuses a file that is
    not UTF-8 (or UTF-16 with its byte order mark), is binary, exceeds 50 MB, or holds a
    line no phone would write.
    """

    def __init__(
        self, opener: Callable[[], "_Readable"], on_read: Callable[[int], None] | None = None
    ) -> None:
        self._opener = opener
        self._on_read = on_read
        self.bytes_read = 0

    def __iter__(self) -> Iterator[str]:
        binary = self._opener()
        block = binary.read(_BLOCK_BYTES)
        encoding = "utf-16" if block[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
        decoder = codecs.getincrementaldecoder(encoding)()
        pending = ""
        while True:
            self.bytes_read += len(block)
            if self.bytes_read > MAX_TEXT_BYTES:
                raise ChatExportError("The chat is larger than 50 MB.")
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError:
                raise ChatExportError(
                    "This file is not a WhatsApp chat export: it is not UTF-8 text."
                ) from None
            if "\x00" in text:
                raise ChatExportError(
                    "This file is not a WhatsApp chat export: it is a binary file."
                )
            *complete, pending = (pending + text).split("\n")
            if len(pending) > _MAX_LINE_CHARS:
                raise ChatExportError(
                    "This file is not a WhatsApp chat export: a line is longer than 1 MB."
                )
            for line in complete:
                yield line.rstrip("\r")
            if self._on_read:
                self._on_read(self.bytes_read)
            if not block:
                break
            block = binary.read(_BLOCK_BYTES)
        yield pending.rstrip("\r")


def _chat_in_zip(binary: BinaryIO) -> tuple[zipfile.ZipFile, zipfile.ZipInfo]:
    try:
        archive = zipfile.ZipFile(binary)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as error:
        raise ChatExportError(f"The zip file cannot be read ({error}).") from None
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
    if texts[0].file_size > MAX_TEXT_BYTES:
        raise ChatExportError("The chat inside the zip file is larger than 50 MB.")
    return archive, texts[0]


def _zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> "_Readable":
    """The chat's decompressed bytes; read errors surface as `ChatExportError`."""
    try:
        return _ZipErrors(archive.open(info))
    except (zipfile.BadZipFile, NotImplementedError, EOFError) as error:
        raise ChatExportError(f"The zip file cannot be read ({error}).") from None


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _ZipErrors:
    def __init__(self, member: IO[bytes]) -> None:
        self._member = member

    def read(self, size: int = -1) -> bytes:
        try:
            return self._member.read(size)
        except (zipfile.BadZipFile, NotImplementedError, EOFError, zlib.error) as error:
            raise ChatExportError(f"The zip file cannot be read ({error}).") from None


def read_chat_export(data: bytes, tz: tzinfo | None = None) -> ChatExport:
    """Parse an uploaded export held in memory (small files; imports stream `ExportFile`)."""
    export = ExportFile(io.BytesIO(data))
    return _whole_export(export.lines(), export.lines(), tz)


def parse_chat_text(text: str, tz: tzinfo | None = None) -> ChatExport:
    """Parse an export's text; naive times are read in `tz` (default: the current zone)."""
    lines = text.split("\n")
    return _whole_export(lines, lines, tz)


def _whole_export(
    first_pass: Iterable[str], second_pass: Iterable[str], tz: tzinfo | None
) -> ChatExport:
    order = read_date_order(first_pass)
    tally = ExportTally()
    messages = tuple(iter_messages(second_pass, order, tally, tz))
    return ChatExport(
        messages=messages,
        unparseable=tuple(tally.unparseable),
        system_lines=tally.system_lines,
        date_order=order,
    )


def _stamp(line: str) -> re.Match[str] | None:
    bare = line.lstrip(_MARKS)
    return _IOS_LINE.fullmatch(bare) or _ANDROID_LINE.fullmatch(bare)


def _parts(match: re.Match[str]) -> dict[str, str]:
    return {k: v for k, v in match.groupdict().items() if v is not None and k != "rest"}


def read_date_order(lines: Iterable[str]) -> str:
    """The first pass: whether the whole file's dates are day/month, month/day or year first.

    Raises `ChatExportError` when no line starts with a date and time.
    """
    evidence = _DateEvidence()
    for line in lines:
        match = _stamp(line)
        if match:
            evidence.add(_parts(match))
    if not evidence.stamped:
        raise ChatExportError(
            "This file is not a WhatsApp chat export: no line starts with a date and time."
        )
    return evidence.order()


@dataclass
class ExportTally:
    """What the second pass counts beside the messages: system lines, and unreadable lines
    (the first `MAX_UNPARSEABLE_KEPT` kept, all of them counted)."""

    system_lines: int = 0
    unparseable_count: int = 0
    unparseable: list[UnparseableLine] = field(default_factory=list)

    def unreadable(self, line_number: int, line: str) -> None:
        self.unparseable_count += 1
        if len(self.unparseable) < MAX_UNPARSEABLE_KEPT:
            self.unparseable.append(UnparseableLine(line_number, line[:200]))


def iter_messages(
    lines: Iterable[str], order: str, tally: ExportTally, tz: tzinfo | None = None
) -> Iterator[ExportMessage]:
    """The second pass: the member messages in file order, one held in memory at a time."""
    tz = tz or timezone.get_current_timezone()
    current: _Stamped | None = None
    for number, line in enumerate(lines, start=1):
        match = _stamp(line)
        if match:
            if current is not None:
                yield from _finish(current, order, tally, tz)
            current = _Stamped(number, line, _parts(match), match.group("rest"))
        elif current is not None:
            current.add(line)
        elif line.strip(_MARKS + " \t"):
            tally.unreadable(number, line)
    if current is not None:
        yield from _finish(current, order, tally, tz)


def _finish(
    item: "_Stamped", order: str, tally: ExportTally, tz: tzinfo
) -> Iterator[ExportMessage]:
    sent_at = _datetime(item.parts, order, tz)
    if sent_at is None:
        tally.unreadable(item.line_number, item.line)
        return
    message = _member_message(item, sent_at)
    if message is None:
        tally.system_lines += 1
    else:
        yield message


class _DateEvidence:
    """Day/month or month/day for the whole file, gathered line by line: a number above 12
    settles it.

    When no date settles it (every day so far is 12 or less), the reading under which the
    dates run forward in time wins, since an export is in order; failing that, a 12-hour clock
    suggests a US phone (month/day), and anything else day/month, the commoner order.
    """

    _ORDERS = ("day/month", "month/day")

    def __init__(self) -> None:
        self.stamped = 0
        self.year_first = self.day_first = self.month_first = self.twelve_hour = False
        self.fits = dict.fromkeys(self._ORDERS, 0)
        self.backwards = dict.fromkeys(self._ORDERS, 0)
        self.previous: dict[str, tuple[int, int, int] | None] = dict.fromkeys(self._ORDERS)

    def add(self, parts: dict[str, str]) -> None:
        self.stamped += 1
        first, second = int(parts["d1"]), int(parts["d2"])
        self.year_first |= len(parts["d1"]) == 4
        self.day_first |= first > 12
        self.month_first |= second > 12
        self.twelve_hour |= "ampm" in parts
        self.fits["day/month"] += second <= 12
        self.fits["month/day"] += first <= 12
        for order in self._ORDERS:
            key = _date_key(parts, order)
            previous = self.previous[order]
            self.backwards[order] += bool(previous and key and key < previous)
            self.previous[order] = key

    def order(self) -> str:
        if self.year_first:
            return "year/month/day"
        if self.day_first != self.month_first:
            return "day/month" if self.day_first else "month/day"
        if self.day_first:  # contradictory file: keep the reading that fits more lines
            return "day/month" if self.fits["day/month"] >= self.fits["month/day"] else "month/day"
        if self.backwards["day/month"] != self.backwards["month/day"]:
            return min(self._ORDERS, key=lambda order: self.backwards[order])
        return "month/day" if self.twelve_hour else "day/month"


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
    phone = _sender_phone(sender, default_region())
    return ExportMessage(
        line_number=item.line_number,
        sent_at=sent_at,
        sender=sender,
        sender_phone=phone,
        text=body,
    )


@functools.lru_cache(maxsize=4096)
def _sender_phone(sender: str, region: str | None) -> str | None:
    """E.164 when the sender is written as a phone number. Cached: a group's members write
    many messages each, and reading a number is the slowest step of parsing a line."""
    return normalise_phone(sender, region) if _PHONE_LIKE.match(sender) else None
