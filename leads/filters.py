"""The leads table's query-string state: filters, sort and page size, validated in one place.

The FilterSet is used for what django-filter does well — declaring, validating and rendering
the filter controls from `request.GET`. Views then hand the cleaned values to a `LeadSource`
(never `.qs`), so the same state works whether leads come from the store or from MoltFlow.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import django_filters
from django import forms
from django.core.exceptions import BadRequest
from django.http import QueryDict
from django.utils import timezone

from leads.follow_ups import DUE_CHOICES, due_window
from leads.models import STATUS_CHOICES, Lead
from leads.pipeline import Status
from leads.sources.records import SORT_KEYS, SORT_NEWEST, LeadQuery

# The URL carries the sources' own sort keys ("-" for descending); capabilities narrow them.
SORTS: tuple[str, ...] = SORT_KEYS
DEFAULT_SORT = SORT_NEWEST
PAGE_SIZES: tuple[int, ...] = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
# A link of ids in the URL must stay short enough for every proxy and server on the way.
MAX_IDS_IN_URL = 100
# Whose leads: "" everyone's, "me" the signed-in person's (a rep's default), "none" nobody's.
OWNER_MINE, OWNER_NOBODY = "me", "none"
OWNER_CHOICES = ((OWNER_MINE, "My leads"), (OWNER_NOBODY, "Unassigned"))


class UUIDInFilter(django_filters.BaseInFilter, django_filters.UUIDFilter):
    """`?ids=<uuid>,<uuid>`: the leads a bulk action did not move."""


class LeadFilter(django_filters.FilterSet):
    """Status, source group, detected date range, free-text search and an explicit id list."""

    q = django_filters.CharFilter(
        label="Search",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Name, phone or keyword",
                "autocomplete": "off",
                "dir": "auto",
            }
        ),
    )
    status = django_filters.ChoiceFilter(
        field_name="lead_status", choices=STATUS_CHOICES, empty_label="Any status"
    )
    group = django_filters.ChoiceFilter(
        field_name="source_group_id", choices=(), empty_label="Any group", label="Source group"
    )
    detected_from = django_filters.DateFilter(
        field_name="lead_detected_at",
        lookup_expr="date__gte",
        label="Detected from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    detected_to = django_filters.DateFilter(
        field_name="lead_detected_at",
        lookup_expr="date__lte",
        label="Detected to",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    owner = django_filters.ChoiceFilter(
        choices=OWNER_CHOICES, empty_label="Everyone's", label="Owner", method="filter_nothing"
    )
    due = django_filters.ChoiceFilter(
        choices=DUE_CHOICES, empty_label="Any time", label="Follow-up", method="filter_nothing"
    )
    ids = UUIDInFilter(field_name="id", widget=forms.HiddenInput, label="Only these leads")
    min_score = django_filters.NumberFilter(
        field_name="lead_score",
        lookup_expr="gte",
        label="Score at least",
        min_value=0,
        max_value=100,
        widget=forms.NumberInput(attrs={"min": 0, "max": 100, "step": 1, "inputmode": "numeric"}),
    )

    class Meta:
        model = Lead
        fields: list[str] = []

    def __init__(
        self,
        data: QueryDict | None = None,
        *,
        group_choices: Iterable[tuple[str, str]] = (),
        unassigned: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, queryset=Lead.objects.none(), **kwargs)
        # The groups come from the source, so the choices are only known per request.
        self.filters["group"].extra["choices"] = list(group_choices)
        if not unassigned:  # a source that cannot list the leads nobody owns (MoltFlow)
            self.filters["owner"].extra["choices"] = OWNER_CHOICES[:1]

    def filter_nothing(self, queryset: Any, name: str, value: str) -> Any:
        """Owners and follow-ups are our own data: `lead_query` makes them the source's filter."""
        return queryset


@dataclass(frozen=True)
class TableState:
    """Everything the URL says about the table, validated: what to fetch and how to show it."""

    q: str = ""
    status: str = ""
    group: str = ""
    detected_from: date | None = None
    detected_to: date | None = None
    ids: tuple[UUID, ...] = ()
    min_score: int | None = None
    owner: str = ""
    due: str = ""
    sort: str = DEFAULT_SORT
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    # The row the page starts after (Next) or ends before (Previous): deep pages by keyset.
    after: UUID | None = None
    before: UUID | None = None

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    @property
    def is_filtered(self) -> bool:
        return bool(
            self.q
            or self.status
            or self.group
            or self.detected_from
            or self.detected_to
            or self.ids
            or self.min_score is not None
            or self.owner
            or self.due
        )


# The dates a filter accepts. Outside them no lead can match, and a day either side (an
# inclusive "to" ends a day later) would overflow Python's and the database's dates.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)


class DayOutOfRange(BadRequest):
    """A filter date outside `EARLIEST_DAY`..`LATEST_DAY`: the request is answered with 400."""

    def __init__(self, label: str, day: date) -> None:
        super().__init__(
            f"{label} {day.isoformat()} is out of range: "
            f"choose a date from {EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}."
        )


def check_day(label: str, day: date | None) -> date | None:
    """`day` itself, or `DayOutOfRange` when no lead could have been detected (or moved) then."""
    if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
        raise DayOutOfRange(label, day)
    return day


def _positive_int(raw: str | None, default: int) -> int:
    try:
        value = int(raw or "")
    except ValueError:
        return default
    return value if value > 0 else default


def table_state(data: QueryDict, filterset: LeadFilter) -> TableState:
    """The validated state: invalid filter values are dropped (the form shows why).

    A well-formed date out of any lead's range raises `DayOutOfRange` (answered with 400).
    """
    filterset.is_valid()
    cleaned: dict[str, Any] = getattr(filterset.form, "cleaned_data", {})
    sort = data.get("sort", DEFAULT_SORT)
    page_size = _positive_int(data.get("page_size"), DEFAULT_PAGE_SIZE)
    return TableState(
        q=(cleaned.get("q") or "").strip()[:200],
        status=cleaned.get("status") or "",
        group=cleaned.get("group") or "",
        detected_from=check_day("Detected from", cleaned.get("detected_from")),
        detected_to=check_day("Detected to", cleaned.get("detected_to")),
        ids=tuple(cleaned.get("ids") or ())[:MAX_IDS_IN_URL],
        min_score=_whole_score(cleaned.get("min_score")),
        owner=cleaned.get("owner") or "",
        due=cleaned.get("due") or "",
        sort=sort if sort in SORTS else DEFAULT_SORT,
        # A page number past any real table is a typo or a probe; cap it to keep OFFSET sane.
        page=min(_positive_int(data.get("page"), 1), 100_000),
        page_size=page_size if page_size in PAGE_SIZES else DEFAULT_PAGE_SIZE,
        after=_uuid_or_none(data.get("after")),
        before=_uuid_or_none(data.get("before")),
    )


def _uuid_or_none(raw: str | None) -> UUID | None:
    """A cursor from the URL; a tampered one is ignored (the page falls back to its offset)."""
    try:
        return UUID(raw or "")
    except ValueError:
        return None


def _whole_score(value: Any) -> int | None:
    """A cleaned `min_score` (a Decimal in 0..100) as a whole number, or None."""
    return None if value is None else int(value)


def _start_of(day: date | None) -> datetime | None:
    """Midnight of `day` in the current time zone: what a person means by a date."""
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.min))


def lead_query(
    state: TableState,
    *,
    sort: str | None = None,
    user_id: int | None = None,
    now: datetime | None = None,
) -> LeadQuery:
    """The source query for this state. `detected_to` is inclusive, so it ends a day later.

    "My leads" are `user_id`'s (the signed-in person); without one it filters nothing.
    "Due today" and "Overdue" are judged at `now` (default: the current time).
    """
    due_from, due_before = due_window(state.due, now or timezone.now())
    return LeadQuery(
        status=Status(state.status) if state.status else None,
        source_group_id=UUID(state.group) if state.group else None,
        search=state.q or None,
        detected_from=_start_of(state.detected_from),
        detected_to=_start_of(state.detected_to + timedelta(days=1) if state.detected_to else None),
        ids=state.ids,
        min_score=state.min_score,
        owner_id=user_id if state.owner == OWNER_MINE else None,
        unassigned=True if state.owner == OWNER_NOBODY else None,
        due_from=due_from,
        due_before=due_before,
        sort=sort or state.sort,
        after=state.after,
        before=None if state.after else state.before,
    )
