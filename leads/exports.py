"""Streamed CSV and JSON exports of leads, with spreadsheet-formula neutralisation."""

import csv
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

from leads.models import Lead
from leads.serializers import iso_z, lead_payload

EXPORT_MAX_ROWS = 10_000

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


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def stream_csv(rows: Iterable[Lead], *, byte_order_mark: bool = False) -> Iterator[str]:
    """CSV lines (RFC 4180 quoting, CRLF). The BOM helps Excel read UTF-8 (Hebrew, Arabic)."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    if byte_order_mark:
        yield "\ufeff"
    yield writer.writerow(CSV_COLUMNS)
    for lead in rows:
        yield writer.writerow(csv_row(lead))


def stream_json(rows: Iterable[Lead]) -> Iterator[str]:
    """A JSON array of lead objects, written one element at a time."""
    yield "["
    for index, lead in enumerate(rows):
        yield ("," if index else "") + json.dumps(lead_payload(lead), ensure_ascii=False)
    yield "]"
