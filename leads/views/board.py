"""`/leads/board/`: the pipeline as five columns of cards, newest first.

Same filters as the table (group, search, dates), all in the URL. Each column loads a page of
cards and more on demand (`shown_<status>` in the URL), so a column of 20,000 leads opens as
fast as one of 20: one count of all statuses, then one short page per column, no COUNT per
column. Cards move through `leads:change-status` (buttons, or drag-and-drop in board.js);
after a move from the board that endpoint answers with `columns_after_move`.
"""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from leads.assignments import Owner, owners_of
from leads.filters import OWNER_MINE, LeadFilter, TableState
from leads.follow_ups import FollowUp, follow_ups_of
from leads.pipeline import (
    STATUSES,
    Status,
    allowed_targets,
    can_transition,
    is_status,
    refusal_reason,
)
from leads.roles import VIEWER, role_required, user_role
from leads.sources import get_source
from leads.sources.base import LeadSource
from leads.sources.errors import SourceError
from leads.sources.records import (
    COUNT_CAP,
    SORT_NEWEST,
    LeadQuery,
    LeadRecord,
    Page,
    StatusCounts,
)
from leads.templatetags.leads_ui import time_tag
from leads.views.rendering import htmx_region, render_region, render_shared_region
from leads.views.shared import read_table_request
from leads.waiting import is_waiting_too_long

# Cards a column shows at first, and adds with each "show more".
PAGE = 20
# A board is for working the newest leads; past this a column points to the table instead.
MAX_SHOWN = 500
# The query-string keys the board shares with the table (switching views keeps them).
FILTER_KEYS = ("q", "group", "detected_from", "detected_to", "owner", "due")
# The board region a move from a card swaps: the endpoint answers it with `columns_after_move`.
MOVE_TARGET = "board-columns"
REASON_MAX_LENGTH = 200
REGIONS = (MOVE_TARGET, *(f"more-{status}" for status in STATUSES))


def shown_key(status: Status) -> str:
    """The URL parameter holding how many cards a column shows."""
    return f"shown_{status}"


@dataclass(frozen=True)
class BoardCard:
    """A lead as a card: the record, how long it has waited (worded and judged), its link."""

    lead: LeadRecord
    age: str
    waiting: bool
    detail_url: str
    owner: Owner | None = None
    follow_up: FollowUp | None = None


# The cards' Move and Follow-up menus are drawn once per board, for a lead with this id;
# board.js copies one into a card when its menu opens, putting the card's id in its place.
# A hundred cards each carrying its own forms were 60% of the board's bytes, parsed by every
# open screen on every change.
MENU_STAND_IN = uuid.UUID(int=0)


@dataclass(frozen=True)
class MenuLead:
    """What a card menu's forms read of a lead: the stand-in id, and a status with moves."""

    id: uuid.UUID
    status: Status


def _lead_url(name: str) -> Callable[[uuid.UUID], str]:
    """`reverse()` for one lead URL, done once for a whole page of cards.

    Reversing per card (three URLs, 100 cards) was a measurable part of drawing the board.
    """
    placeholder = uuid.UUID(int=0)
    pattern = reverse(name, args=[placeholder])
    return lambda lead_id: pattern.replace(str(placeholder), str(lead_id))


@dataclass(frozen=True)
class BoardColumn:
    """One status: its count, the cards loaded so far, and the links around them."""

    status: Status
    count: int
    # True when more than `count` leads match (a searched or filtered board counts each
    # column only up to COUNT_CAP; see `_board_context`).
    count_capped: bool
    cards: tuple[BoardCard, ...]
    shown: int
    has_more: bool
    more_url: str
    # True when the column stops at MAX_SHOWN although more leads match.
    capped: bool
    table_url: str
    # The column a phone-width screen shows (the status switcher's choice).
    current: bool
    switch_url: str


@dataclass(frozen=True)
class BoardRequest:
    """The board's state from a query string: filters, cards per column, phone column."""

    filterset: LeadFilter
    state: TableState
    query: LeadQuery
    shown: dict[Status, int]
    col: Status
    max_shown: int
    date_filters: bool
    # The normalised query string that redraws this exact board.
    params: QueryDict


def _shown(raw: str | None, max_shown: int) -> int:
    """Cards to show: whole pages from one page up to the cap (junk means one page)."""
    try:
        wanted = int(raw or PAGE)
    except ValueError:
        wanted = PAGE
    pages = max(1, -(-wanted // PAGE))
    return min(pages * PAGE, max_shown)


def read_board_request(data: QueryDict, source: LeadSource, user: Any = None) -> BoardRequest:
    """Parse the query string; invalid filters are dropped (the form says why).

    `user` is who "My leads" means (the person asking).
    """
    table = read_table_request(data, source, user)
    filterset, state, capabilities = table.filterset, table.state, table.capabilities
    # Columns are the statuses: the table's status filter, sort and page do not apply.
    query = replace(table.query, status=None, sort=SORT_NEWEST)
    max_shown = max(PAGE, min(MAX_SHOWN, capabilities.max_page_size) // PAGE * PAGE)
    shown = {status: _shown(data.get(shown_key(status)), max_shown) for status in STATUSES}
    col_raw = data.get("col", "")
    col = Status(col_raw) if is_status(col_raw) else STATUSES[0]
    params = QueryDict(mutable=True)
    for key in FILTER_KEYS:
        if value := data.get(key):
            params[key] = value
    for status, count in shown.items():
        if count != PAGE:
            params[shown_key(status)] = str(count)
    if is_status(col_raw):
        params["col"] = col_raw
    return BoardRequest(
        filterset=filterset,
        state=state,
        query=query,
        shown=shown,
        col=col,
        max_shown=max_shown,
        date_filters={"detected_from", "detected_to"} <= capabilities.filters,
        params=params,
    )


def _with(params: QueryDict, **changes: str | None) -> str:
    query = params.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    encoded = query.urlencode()
    return f"{reverse('leads:board')}?{encoded}" if encoded else reverse("leads:board")


def _filters_only(params: QueryDict) -> str:
    query = QueryDict(mutable=True)
    for key in FILTER_KEYS:
        if value := params.get(key):
            query[key] = value
    return query.urlencode()


def _cards(
    rows: tuple[LeadRecord, ...],
    now: datetime,
    back: str,
    owners: Mapping[uuid.UUID, Owner],
    follow_ups: Mapping[uuid.UUID, FollowUp],
) -> tuple[BoardCard, ...]:
    detail_url = _lead_url("leads:detail")
    # The detail page's "back" link and its no-JavaScript moves return to this board.
    next_param = f"?next={quote(back, safe='')}"
    return tuple(
        BoardCard(
            lead=row,
            age=time_tag(row.detected_at, now),
            waiting=is_waiting_too_long(row.status, row.detected_at, now),
            detail_url=detail_url(row.id) + next_param,
            owner=owners.get(row.id),
            follow_up=follow_ups.get(row.id),
        )
        for row in rows
    )


def _column_page(source: LeadSource, board: BoardRequest, status: Status, offset: int) -> Page:
    # count_total=False: the counts per status came in one query already; a COUNT per
    # column would make a big column slower to open than a small one.
    return source.list_leads(
        replace(board.query, status=status),
        offset=offset,
        limit=board.shown[status] - offset,
        count_total=False,
    )


def _columns(
    board: BoardRequest, pages: dict[Status, Page], counts: StatusCounts, now: datetime
) -> list[BoardColumn]:
    """The columns drawn from their pages; cards' owners and follow-ups: one query each."""
    ids = [row.id for page in pages.values() for row in page.rows]
    owners, follow_ups = owners_of(ids), follow_ups_of(ids, now)
    filters = _filters_only(board.params)
    columns = []
    for status, page in pages.items():
        shown = board.shown[status]
        status_filter = f"status={status}"
        table_query = f"{filters}&{status_filter}" if filters else status_filter
        columns.append(
            BoardColumn(
                status=status,
                count=counts.counts.get(status, 0),
                count_capped=status in counts.capped,
                cards=_cards(page.rows, now, _with(board.params), owners, follow_ups),
                shown=shown,
                has_more=page.has_next and shown < board.max_shown,
                more_url=_with(board.params, **{shown_key(status): str(shown + PAGE)}),
                capped=page.has_next and shown >= board.max_shown,
                table_url=f"{reverse('leads:table')}?{table_query}",
                current=status == board.col,
                switch_url=_with(board.params, col=str(status)),
            )
        )
    return columns


def _context(board: BoardRequest) -> dict[str, Any]:
    filters = _filters_only(board.params)
    return {
        "filterset": board.filterset,
        "state": board.state,
        "date_filters": board.date_filters,
        "col": board.col,
        "board_query": board.params.urlencode(),
        "board_url": _with(board.params),
        "table_url": f"{reverse('leads:table')}?{filters}" if filters else reverse("leads:table"),
        "page_size": PAGE,
        "menu_leads": [MenuLead(MENU_STAND_IN, s) for s in STATUSES if allowed_targets(s)],
        "menu_stand_in": MENU_STAND_IN,
    }


def _board_context(source: LeadSource, data: QueryDict, user: Any) -> dict[str, Any]:
    """Every column: the counts in one call, then one short page per column.

    The counts are the kept totals when at most a group filters; under a search or another
    filter each column is counted up to COUNT_CAP and says "1000+" past it, so a common word
    stops after a thousand matches per column instead of counting 160,000 of them.
    """
    board = read_board_request(data, source, user)
    counts = source.count_by_status_capped(board.query, COUNT_CAP, COUNT_CAP)
    pages = {status: _column_page(source, board, status, 0) for status in STATUSES}
    columns = _columns(board, pages, counts, timezone.now())
    return {**_context(board), "columns": columns, "refusals": _refusals()}


def _refusals() -> dict[str, str]:
    """Why each refused move is refused, for board.js to say when a drop is not allowed."""
    return {
        f"{current}>{target}": refusal_reason(current, target)
        for current in STATUSES
        for target in STATUSES
        if not can_transition(current, target)
    }


def _more_context(source: LeadSource, data: QueryDict, status: Status, user: Any) -> dict[str, Any]:
    """Only the next page of one column (appended by htmx), and the board's new state."""
    board = read_board_request(data, source, user)
    offset = max(0, board.shown[status] - PAGE)
    page = _column_page(source, board, status, offset)
    [column] = _columns(board, {status: page}, StatusCounts({}), timezone.now())
    return {**_context(board), "column": column, "state_out_of_band": True}


def _unavailable_context(data: QueryDict, error: SourceError) -> dict[str, Any]:
    """Empty columns with the reason, so the page still renders when the source fails."""
    return {
        "filterset": LeadFilter(data),
        "state": TableState(),
        "columns": [],
        "col": STATUSES[0],
        "board_query": "",
        "board_url": reverse("leads:board"),
        "table_url": reverse("leads:table"),
        "source_error": f"Leads could not be loaded: {error.detail}",
    }


def _shared_view(request: HttpRequest, data: QueryDict) -> tuple[object, ...]:
    """What the board's columns depend on besides the data: the query, the role (which moves
    and forms the cards offer) and, for "My leads", who asks."""
    mine = request.user.pk if data.get("owner") == OWNER_MINE else None
    return (tuple(sorted(data.lists())), user_role(request.user), mine)


def _render(request: HttpRequest, data: QueryDict) -> HttpResponse:
    source = get_source()
    region = htmx_region(request, REGIONS)
    try:
        if region == MOVE_TARGET:
            # A live refresh shares one rendering between every screen showing this view.
            return render_shared_region(
                request,
                "leads/board.html",
                MOVE_TARGET,
                lambda: _board_context(source, data, request.user),
                varies_on=_shared_view(request, data),
            )
        if region and region.startswith("more-"):
            status = Status(region.removeprefix("more-"))
            context = _more_context(source, data, status, request.user)
        else:
            context = _board_context(source, data, request.user)
    except SourceError as error:
        context = _unavailable_context(data, error)
    return render_region(request, "leads/board.html", context, regions=REGIONS)


@role_required(VIEWER)
@require_GET
def leads_board(request: HttpRequest) -> HttpResponse:
    """The board page, its `board-columns` region, or one column's next cards (`more-*`)."""
    return _render(request, request.GET)


def columns_after_move(request: HttpRequest, board_query: str) -> HttpResponse:
    """The `board-columns` region after a move, drawn for the board state the screen had.

    Called by `leads:change-status` (which owns login, method and CSRF) for htmx posts that
    target the board.
    """
    return _render(request, QueryDict(board_query))
