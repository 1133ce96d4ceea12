"""No exported CSV cell can start a spreadsheet formula, whatever a group member typed.

Contact names, keywords, group names and messages are written by strangers. Hypothesis throws
arbitrary text at the export — leading blanks, full-width look-alikes, tabs, CR/LF, NULs,
bidi marks, phone-like strings — and every cell read back with Python's csv module must be
either a plain phone number or harmless, and must still say what the member wrote.
"""

import csv
import io
import uuid

import hypothesis
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from leads.exports import CSV_COLUMNS, neutralise_cell, stream_csv
from leads.models import Lead, MonitoredGroup, Session
from tests.factories import make_lead, make_session

# The oracle is written out character by character, not derived the way leads/exports.py
# derives it (Unicode categories and NFKC): a rule both sides computed the same way could be
# wrong in both and still agree.
# What a spreadsheet runs as a formula when a cell starts with it: the four ASCII starters and
# the look-alikes a spreadsheet folds into them (full-width, small, super- and subscript).
FORMULA_STARTERS = frozenset("=+-@＝＋－＠﹦﹢﹣﹫⁺₊⁼₌")
# What a reader cannot see in front of those: spaces of every width, line and page breaks,
# separators, zero-width characters, bidi marks and the byte order mark.
INVISIBLE = frozenset(
    " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
PLAIN_PHONE = frozenset("0123456789")

# What a cell may begin with to be mischief, and the invisible things that can hide it.
TRICKY = [
    *"=+-@\t\r\n '\",;",
    *"＝＋－＠﹦﹢﹣﹫",  # full-width and small forms
    "\u00a0",  # no-break space
    "\u3000",  # ideographic space
    "\x0b",
    "\x0c",
    "\x1c",
    "\x85",
    "\u2028",
    "\u200b",  # zero-width space
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\ufeff",  # byte order mark
    "\x00",
    "⁺",  # superscript plus
    "₌",  # subscript equals
    "\u2060",  # word joiner
    "\u2007",  # figure space
    "٣",  # Arabic-Indic digit three
    "３",  # full-width digit three
    '=HYPERLINK("http://x")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)",
]


def texts(*, max_size: int = 60, nul: bool = True) -> st.SearchStrategy[str]:
    """Arbitrary text, weighted towards the openings a spreadsheet might run."""
    tricky = st.sampled_from([piece for piece in TRICKY if nul or "\x00" not in piece])
    # No lone surrogates: they cannot be UTF-8, so no request or row can carry one.
    characters = st.characters(exclude_categories=["Cs"], exclude_characters="" if nul else "\x00")
    anything = st.text(alphabet=characters, max_size=8)
    phone_like = st.from_regex(r"\A[+＋]?[0-9٠-٩０-９ ()\-]{0,16}\n?\Z")
    pieces = st.lists(st.one_of(tricky, anything, phone_like), max_size=6).map("".join)
    return st.one_of(pieces, anything, phone_like).map(lambda text: text[:max_size])


def is_plain_phone(cell: str) -> bool:
    return len(cell) > 1 and cell[0] == "+" and set(cell[1:]) <= PLAIN_PHONE


def assert_harmless(cell: str, original: str) -> None:
    """The property: a plain phone number, or nothing a spreadsheet would run; text intact."""
    assert cell in (original, "'" + original), f"{original!r} came out as {cell!r}"
    if is_plain_phone(cell):
        return
    assert cell[:1] not in ("\t", "\r"), f"{cell!r} starts with a tab or carriage return"
    visible = cell.lstrip("".join(INVISIBLE))
    assert visible[:1] not in FORMULA_STARTERS, f"{cell!r} can start a formula"


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def unsaved_lead(name: str, phone: str, keyword: str, group_name: str, preview: str) -> Lead:
    group = MonitoredGroup(name=group_name, session=Session(name="phone"))
    return Lead(
        source_group=group,
        contact_jid="1@c.us",
        contact_phone=phone,
        contact_name=name,
        matched_keyword=keyword,
        message_preview=preview,
    )


# No deadline: a busy CI machine makes timings vary, and speed is not what is tested here.
@hypothesis.settings(deadline=None)
@given(texts())
def test_a_neutralised_cell_is_a_plain_phone_or_cannot_start_a_formula(text):
    assert_harmless(neutralise_cell(text), text)


@pytest.mark.parametrize(
    "text",
    [
        "+15550123456",
        "+15550123456\n",
        "+١٢٣٤٥٦٧٨",
        "+１５５５０１２３４",
        " =1+1",
        "\u200f=1+1",
        "\ufeff@SUM(A1)",
        "﹦1+1",
        "\t\u3000－1",
        "\r\n=1",
        "\u2060\u2007⁺1",
        "\u202a₌1",
    ],
)
def test_each_known_trick_comes_out_harmless(text):
    assert_harmless(neutralise_cell(text), text)


def test_a_plain_phone_number_is_left_as_it_is():
    assert neutralise_cell("+15550123456") == "+15550123456"


@hypothesis.settings(deadline=None)
@given(name=texts(), phone=texts(), keyword=texts(), group_name=texts(), preview=texts())
def test_every_cell_of_a_streamed_export_reads_back_harmless(
    name, phone, keyword, group_name, preview
):
    lead = unsaved_lead(name, phone, keyword, group_name, preview)

    header, row = read_csv("".join(stream_csv([lead])))

    assert header == list(CSV_COLUMNS)
    cells = dict(zip(header, row, strict=True))
    for column, original in [
        ("contact_name", name),
        ("contact_phone", phone),
        ("matched_keyword", keyword),
        ("source_group_name", group_name),
        ("message_preview", preview),
    ]:
        assert_harmless(cells[column], original)
    for cell in row:
        assert_harmless(cell, cell.removeprefix("'"))


@pytest.fixture
def unlimited_api(api, settings):
    """The API client, without the per-minute limit (Hypothesis sends many requests)."""
    settings.MIRROR_RATE_LIMITS = False
    return api


@pytest.mark.django_db
@hypothesis.settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=texts(max_size=200, nul=False),
    keyword=texts(max_size=200, nul=False),
    group_name=texts(max_size=200, nul=False),
    preview=texts(max_size=500, nul=False),
)
def test_every_cell_of_the_api_export_reads_back_harmless(
    unlimited_api, name, keyword, group_name, preview
):
    # PostgreSQL cannot store NUL, so the stored leads carry everything else.
    group = MonitoredGroup.objects.create(
        session=make_session(), wa_group_id=f"{uuid.uuid4().int}@g.us", name=group_name
    )
    make_lead(group, name=name, keyword=keyword, preview=preview)

    response = unlimited_api.get("/api/v2/leads/export/csv", {"source_group_id": str(group.id)})

    assert response.status_code == 200
    header, *rows = read_csv(b"".join(response.streaming_content).decode("utf-8"))
    assert len(rows) == 1
    cells = dict(zip(header, rows[0], strict=True))
    for column, original in [
        ("contact_name", name),
        ("matched_keyword", keyword),
        ("source_group_name", group_name),
        ("message_preview", preview),
    ]:
        assert_harmless(cells[column], original)
    assert is_plain_phone(cells["contact_phone"])
