"""What the office wall shows, read through the configured `LeadSource`.

Every number comes through the source interface (`count_by_status`, `list_leads`), so the
wall works the same on `local` and `moltflow`:

- **Columns**: `count_by_status()` and, per status, one short `list_leads` page (newest first).
- **Today's new leads** and **this week's conversion**: `count_by_status` with `detected_from`
  when the source filters by date (local does); otherwise the newest-first list is read back
  to the start of the period, at most `SCAN_CAP` leads (then shown as "500+").
- **Waiting for first contact**: new leads detected before now − threshold. With date filters,
  one count plus the oldest few; otherwise the newest new leads are read back to the cutoff and
  the rest of the `new` count is waiting; the oldest few are the last page of the `new` list.
- **Ticker**: the newest leads, grouped by their group.
- **The team**: per person, leads owned, contacted today, overdue follow-ups and the median
  minutes to first contact this week (`leads.team_figures`: our own data, either source).

Names and phones are kept whole in the snapshot (it is shared by every wall through the
cache) and masked when a link's options are applied (`present`).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from leads.events import current_token
from leads.phones import format_phone, mask_phone
from leads.pipeline import STATUSES, Status
from leads.sources.base import LeadSource
from leads.sources.records import SORT_NEWEST, LeadQuery, LeadRecord
from leads.team_figures import PersonFigures, team_figures
from leads.waiting import short_age, waiting_threshold

CARDS_PER_COLUMN = 6
WAITING_SHOWN = 10
TICKER_LEADS = 16
SCAN_CAP = 500
SCAN_PAGE = 100
CACHE_SECONDS = 60
_PHONE_LIKE = re.compile(r"^[\d\s+().\-]{6,}$")
# A run of digits that may be a phone number: digits (any script) joined by spaces, dashes,
# dots or brackets, with an optional leading "+" or bracket. Masked when it has 6 or more.
_NUMBER_RUN = re.compile(r"\+?[(\[]?\d(?:[\d\s().\[\]\-\u2010-\u2015]*\d)?")
_MASK_FROM_DIGITS = 6


@dataclass(frozen=True)
class WallLead:
    """A lead as the wall needs it (before masking)."""

    name: str
    phone: str | None
    group: str
    keyword: str | None
    status: Status
    detected_at: datetime


@dataclass(frozen=True)
class WallSnapshot:
    """Everything one wall picture shows, independent of any link's options."""

    taken_at: datetime
    counts: dict[Status, int]
    newest: dict[Status, tuple[WallLead, ...]]
    today: int
    today_capped: bool
    waiting: int
    waiting_capped: bool
    waiting_oldest: tuple[WallLead, ...]
    week_total: int
    week_converted: int
    week_capped: bool
    ticker: tuple[WallLead, ...]
    threshold_minutes: int
    team: tuple[PersonFigures, ...] = ()


def _wall_lead(record: LeadRecord) -> WallLead:
    return WallLead(
        name=record.contact_name or "",
        phone=record.contact_phone,
        group=record.source_group.name,
        keyword=record.matched_keyword,
        status=record.status,
        detected_at=record.detected_at,
    )


def _scan_since(
    source: LeadSource, query: LeadQuery, since: datetime
) -> tuple[list[LeadRecord], bool]:
    """Leads matching `query` detected at or after `since`, newest first, up to SCAN_CAP.

    For sources without date filters: the newest-first list is read back page by page until
    a lead older than `since` (or the cap) is reached. Returns the leads and whether it capped.
    """
    found: list[LeadRecord] = []
    offset = 0
    while len(found) < SCAN_CAP:
        page = source.list_leads(replace(query, sort=SORT_NEWEST), offset=offset, limit=SCAN_PAGE)
        for row in page.rows:
            if row.detected_at < since:
                return found, False
            found.append(row)
        if not page.has_next or not page.rows:
            return found, False
        offset += len(page.rows)
    return found[:SCAN_CAP], True


def _period_counts(
    source: LeadSource, since: datetime, dated: bool
) -> tuple[dict[Status, int], bool]:
    if dated:
        return source.count_by_status(LeadQuery(detected_from=since)), False
    rows, capped = _scan_since(source, LeadQuery(), since)
    counts = {status: 0 for status in STATUSES}
    for row in rows:
        counts[row.status] += 1
    return counts, capped


def _waiting(
    source: LeadSource, new_total: int, cutoff: datetime, dated: bool, sorts: frozenset[str]
) -> tuple[int, bool, tuple[WallLead, ...]]:
    if dated:
        waiting_query = LeadQuery(status=Status.NEW, detected_to=cutoff)
        count = source.count_by_status(waiting_query)[Status.NEW]
        if "detected_at" in sorts:
            page = source.list_leads(
                replace(waiting_query, sort="detected_at"), limit=WAITING_SHOWN
            )
            return count, False, tuple(_wall_lead(row) for row in page.rows)
    else:
        fresh, capped = _scan_since(source, LeadQuery(status=Status.NEW), cutoff)
        count = max(0, new_total - len(fresh))
        if capped:
            return count, True, ()
    # The oldest waiting leads are the tail of the newest-first `new` list.
    shown = min(WAITING_SHOWN, count)
    if not shown:
        return count, False, ()
    page = source.list_leads(
        LeadQuery(status=Status.NEW), offset=max(0, new_total - shown), limit=shown
    )
    oldest = tuple(_wall_lead(row) for row in reversed(page.rows) if row.detected_at <= cutoff)
    return count, False, oldest


def take_snapshot(source: LeadSource, now: datetime | None = None) -> WallSnapshot:
    """Read a whole wall picture from `source` (about a dozen source calls)."""
    now = now or timezone.now()
    capabilities = source.capabilities()
    dated = {"detected_from", "detected_to"} <= capabilities.filters
    counts = source.count_by_status(LeadQuery())
    newest = {
        status: tuple(
            _wall_lead(row)
            for row in source.list_leads(LeadQuery(status=status), limit=CARDS_PER_COLUMN).rows
        )
        for status in STATUSES
    }
    local_now = timezone.localtime(now)
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    week_start = midnight - timedelta(days=midnight.weekday())
    today_counts, today_capped = _period_counts(source, midnight, dated)
    week_counts, week_capped = _period_counts(source, week_start, dated)
    threshold = waiting_threshold()
    waiting, waiting_capped, oldest = _waiting(
        source, counts.get(Status.NEW, 0), now - threshold, dated, capabilities.sorts
    )
    ticker = tuple(
        _wall_lead(row) for row in source.list_leads(LeadQuery(), limit=TICKER_LEADS).rows
    )
    return WallSnapshot(
        taken_at=now,
        counts=counts,
        newest=newest,
        today=sum(today_counts.values()),
        today_capped=today_capped,
        waiting=waiting,
        waiting_capped=waiting_capped,
        waiting_oldest=oldest,
        week_total=sum(week_counts.values()),
        week_converted=week_counts.get(Status.CONVERTED, 0),
        week_capped=week_capped,
        ticker=ticker,
        threshold_minutes=int(threshold.total_seconds() // 60),
        team=team_figures(now),
    )


def cached_snapshot(source: LeadSource) -> WallSnapshot:
    """The snapshot for the current event token and minute, shared by every wall and process.

    Walls re-read on every change; ten walls then cost one read of the source, not ten.
    The minute is in the key because "today" and "waiting" move with the clock alone.
    """
    token = current_token()
    minute = timezone.now().strftime("%Y%m%d%H%M")
    key = f"wall-snapshot:v2:{source.name}:{token.last}:{token.seen}:{minute}"
    snapshot = cache.get(key)
    if snapshot is None:
        snapshot = take_snapshot(source)
        cache.set(key, snapshot, CACHE_SECONDS)
    return snapshot


# --- Presentation: what one link may show ------------------------------------------------


def first_name(name: str) -> str:
    """The first word of a name; a name that is really a phone number is masked like one."""
    name = name.strip()
    if not name:
        return "Someone"
    if _PHONE_LIKE.match(name):
        return mask_phone(name)
    return name.split()[0]


def mask_numbers(text: str) -> str:
    """`text` with every number-like run of 6+ digits masked like a phone.

    People write their number into their WhatsApp name (`0521234567/Dana`), group names and
    keywords; a wall that masks only the phone field would show it whole.
    """

    def mask(run: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", run.group())
        return mask_phone(digits) if len(digits) >= _MASK_FROM_DIGITS else run.group()

    return _NUMBER_RUN.sub(mask, text)


@dataclass(frozen=True)
class WallCard:
    name: str
    phone: str
    group: str
    keyword: str
    age: str
    waiting: bool


def _card(lead: WallLead, options: Any, now: datetime, threshold: timedelta) -> WallCard:
    shown = _shown_text(options)
    return WallCard(
        name=shown((lead.name or "Someone") if options.show_full_names else first_name(lead.name)),
        phone=format_phone(lead.phone) or "hidden number"
        if options.show_phones
        else mask_phone(lead.phone),
        group=shown(lead.group),
        keyword=shown(lead.keyword or ""),
        age=short_age(lead.detected_at, now),
        waiting=lead.status == Status.NEW and now - lead.detected_at > threshold,
    )


def _shown_text(options: Any) -> Callable[[str], str]:
    """How people's text is shown on this link: numbers masked unless it shows phones."""
    return (lambda text: text) if options.show_phones else mask_numbers


def present(snapshot: WallSnapshot, options: Any, now: datetime | None = None) -> dict[str, Any]:
    """Template context for one link: the snapshot with that link's masking applied.

    `options` is anything with `show_full_names` and `show_phones` (a `WallLink`).
    """
    now = now or timezone.now()
    threshold = timedelta(minutes=snapshot.threshold_minutes)

    def cards(leads: tuple[WallLead, ...]) -> list[WallCard]:
        return [_card(lead, options, now, threshold) for lead in leads]

    columns = [
        {
            "status": status,
            "count": snapshot.counts.get(status, 0),
            "cards": cards(snapshot.newest[status]),
        }
        for status in STATUSES
    ]
    ticker: dict[str, list[WallCard]] = {}
    for lead in snapshot.ticker:
        card = _card(lead, options, now, threshold)
        ticker.setdefault(card.group, []).append(card)
    rate = (
        round(100 * snapshot.week_converted / snapshot.week_total) if snapshot.week_total else None
    )
    open_pipeline = sum(
        snapshot.counts.get(status, 0)
        for status in (Status.NEW, Status.CONTACTED, Status.QUALIFIED)
    )
    return {
        "columns": columns,
        "today": snapshot.today,
        "today_capped": snapshot.today_capped,
        "waiting": snapshot.waiting,
        "waiting_capped": snapshot.waiting_capped,
        "waiting_oldest": cards(snapshot.waiting_oldest),
        "threshold_minutes": snapshot.threshold_minutes,
        "week_rate": rate,
        "week_total": snapshot.week_total,
        "week_converted": snapshot.week_converted,
        "week_capped": snapshot.week_capped,
        "open_pipeline": open_pipeline,
        "ticker": [{"group": group, "cards": group_cards} for group, group_cards in ticker.items()],
        # Teammates by first name, like everyone else on a shared screen (unless the link says).
        "team": [
            replace(
                person, name=person.name if options.show_full_names else first_name(person.name)
            )
            for person in snapshot.team
        ],
        "taken_at": snapshot.taken_at,
    }
