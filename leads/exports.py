"""Streamed CSV and JSON exports of leads, with spreadsheet-formula neutralisation."""

import csv
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.text import slugify

from leads.models import Lead
from leads.serializers import iso_z, lead_payload
from leads.sources.records import ByteChunks, LeadRecord

EXPORT_MAX_ROWS = 10_000
# Excel reads a CSV as UTF-8 (Hebrew, Arabic) only when it starts with a byte order mark.
UTF8_BOM = "\ufeff".encode()

CSV_COLUMNS = (
    "id",
    "contact_phone",
    "contact_name",
    "lead_status",
    "lead_score",
    "lead_detected_at",
    "source_group_id",
    "source_group_name",
    "matched_keyword",
    "message_preview",
)

# A spreadsheet reads a cell as a formula when it starts with one of these, or with a character
# Unicode folds into one (full-width ＝＋－＠, small ﹦﹢﹣﹫), even behind blanks and
# invisible marks.
_FORMULA_STARTERS = frozenset("=+-@")
# ASCII digits only and nothing after them: `\d` also takes Arabic-Indic and full-width digits,
# and `$` also matches before a trailing newline.
_PHONE = re.compile(r"\+[0-9]{6,15}")


def _hidden(char: str) -> bool:
    """Blank or zero-width: whitespace, or a format character (bidi marks, BOM, ZWSP)."""
    return char.isspace() or unicodedata.category(char) == "Cf"


def _starts_formula(text: str) -> bool:
    first = next((char for char in text if not _hidden(char)), "")
    return unicodedata.normalize("NFKC", first) in _FORMULA_STARTERS


def neutralise_cell(value: object) -> str:
    """The cell text, prefixed with `'` when a spreadsheet would run it as a formula.

    Cells starting with `=`, `+`, `-`, `@`, a tab or a carriage return are neutralised; so are
    those where blanks or invisible marks come first, and full-width or small look-alikes. A
    plain phone number (`+` and ASCII digits) is left as it is: it cannot run, and the team
    needs it intact.
    """
    text = "" if value is None else str(value)
    if not text or _PHONE.fullmatch(text):
        return text
    if text[0] in "\t\r\n" or _starts_formula(text):
        return "'" + text
    return text


def csv_row(lead: Lead) -> list[str]:
    group = lead.source_group
    cells: tuple[Any, ...] = (
        lead.id,
        lead.contact_phone,
        lead.contact_name,
        lead.lead_status,
        lead.lead_score,
        iso_z(lead.lead_detected_at),
        group.id,
        group.name,
        lead.matched_keyword,
        lead.message_preview,
    )
    return [neutralise_cell(cell) for cell in cells]


def record_csv_row(lead: LeadRecord) -> list[str]:
    """`csv_row` for a lead read from a source (an upstream's export, parsed and checked)."""
    cells: tuple[Any, ...] = (
        lead.id,
        lead.contact_phone,
        lead.contact_name,
        lead.status,
        lead.score,
        iso_z(lead.detected_at),
        lead.source_group.id,
        lead.source_group.name,
        lead.matched_keyword,
        lead.message_preview,
    )
    return [neutralise_cell(cell) for cell in cells]


def record_payload(lead: LeadRecord) -> dict[str, Any]:
    """`lead_payload` for a lead read from a source."""
    return {
        "id": str(lead.id),
        "contact_phone": lead.contact_phone,
        "contact_name": lead.contact_name,
        "lead_status": str(lead.status),
        "lead_score": lead.score,
        "lead_detected_at": iso_z(lead.detected_at),
        "source_group": {"id": str(lead.source_group.id), "name": lead.source_group.name},
        "trigger": {
            "matched_keyword": lead.matched_keyword,
            "message_preview": lead.message_preview,
            "monitor_mode": lead.monitor_mode,
            "detected_at": iso_z(lead.detected_at),
        },
    }


def with_bom(chunks: ByteChunks) -> Iterator[bytes]:
    """A CSV download's bytes, after the byte order mark; closes `chunks` when stopped."""
    yield UTF8_BOM
    try:
        yield from chunks
    finally:
        chunks.close()


def export_file_name(*parts: str, today: date | None = None) -> str:
    """`leads-new-price-2026-12-02`: the parts that are set, slugified, then the day.

    Hebrew and Arabic are kept (Django writes the RFC 6266 header for them).
    """
    words = [slugify(part, allow_unicode=True) for part in parts]
    words.append((today or timezone.localdate()).isoformat())
    return "-".join(word for word in words if word)


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def stream_csv(
    rows: Iterable[Any],
    *,
    cells: Callable[[Any], list[str]] = csv_row,
    columns: Sequence[str] = CSV_COLUMNS,
) -> Iterator[str]:
    """CSV lines (RFC 4180 quoting, CRLF), under a header of `columns`."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    yield writer.writerow(columns)
    for lead in rows:
        yield writer.writerow(cells(lead))


def stream_json(
    rows: Iterable[Any], *, payload: Callable[[Any], dict[str, Any]] = lead_payload
) -> Iterator[str]:
    """A JSON array of lead objects, written one element at a time."""
    yield "["
    for index, lead in enumerate(rows):
        yield ("," if index else "") + json.dumps(payload(lead), ensure_ascii=False)
    yield "]"
