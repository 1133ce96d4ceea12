"""Plain, frozen records that lead sources return: what views render, whatever the source."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from leads.pipeline import Status

# Sort keys a source may support; "-" means descending. Capabilities say which ones it does.
SORT_NEWEST = "-detected_at"
SORT_KEYS: tuple[str, ...] = (
    "-detected_at",
    "detected_at",
    "contact_name",
    "-contact_name",
    "status",
    "-status",
    "-score",
    "score",
    "group_name",
    "-group_name",
)
FILTER_NAMES: tuple[str, ...] = (
    "status",
    "source_group_id",
    "search",
    "detected_from",
    "detected_to",
    "ids",
    "min_score",
    "owner_id",
    "unassigned",
    "due_from",
    "due_before",
)
EXPORT_FORMATS: tuple[str, ...] = ("csv", "json")


@dataclass(frozen=True, kw_only=True)
class LeadQuery:
    """Which leads, in which order. Filters left as None do not filter."""

    status: Status | None = None
    source_group_id: uuid.UUID | None = None
    search: str | None = None
    detected_from: datetime | None = None
    detected_to: datetime | None = None
    # Only these leads (the ones a bulk action did not move); empty means no id filter.
    ids: tuple[uuid.UUID, ...] = ()
    # Only leads scoring at least this (intent leads score 1-100, keyword leads 0).
    min_score: int | None = None
    # Our own data beside the source's (issue 16): leads this person owns, or nobody owns.
    owner_id: int | None = None
    unassigned: bool | None = None  # True or None, so `filters_used` reads None as unset
    # Leads with a follow-up due in [due_from, due_before) (either end may be open).
    due_from: datetime | None = None
    due_before: datetime | None = None
    # Leads whose notes (kept beside the source's leads) contain the search: the dashboard's
    # search finds them too. Not a filter of its own: a source that cannot use it ignores it.
    noted: tuple[uuid.UUID, ...] = ()
    sort: str = SORT_NEWEST
    # Keyset paging: the page after (or before) this lead in the sort, whatever the offset.
    # A hint, not a filter: a source that pages by offset alone ignores it and uses the offset.
    after: uuid.UUID | None = None
    before: uuid.UUID | None = None

    def filters_used(self) -> frozenset[str]:
        """The names of the filters this query sets (to check against capabilities)."""
        used = {name for name in FILTER_NAMES if getattr(self, name) not in (None, "", ())}
        if self.search is not None and not self.search.strip():
            used.discard("search")
        return frozenset(used)


@dataclass(frozen=True, kw_only=True)
class GroupRef:
    """The monitored group a lead came from, as the lead carries it."""

    id: uuid.UUID
    name: str
    wa_group_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class LeadRecord:
    id: uuid.UUID
    contact_phone: str | None
    contact_name: str | None
    status: Status
    score: int
    detected_at: datetime
    source_group: GroupRef
    matched_keyword: str | None
    message_preview: str
    monitor_mode: str
    # Matching messages seen from this contact in this group; None when the source's list
    # does not carry it (MoltFlow's list of leads does not, only its detail does).
    message_count: int | None = None
    # Why an intent lead scored what it did ("asks for a price"); empty for keyword leads.
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class StatusChangeRecord:
    from_status: Status
    to_status: Status
    changed_at: datetime
    actor_kind: str
    actor_label: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class LeadDetail(LeadRecord):
    message_count: int  # always known in detail
    session_id: uuid.UUID
    updated_at: datetime
    # Empty when the source does not keep history (capabilities.history says which).
    history: tuple[StatusChangeRecord, ...] = ()
    # Set only on the lead a move returns when the move's own answer was lost or garbled
    # and reading the lead back confirmed it: what went wrong with that answer.
    confirmed_after: str | None = None


@dataclass(frozen=True, kw_only=True)
class Page:
    """One page of leads. `total` is None when the source cannot count cheaply."""

    rows: tuple[LeadRecord, ...]
    offset: int
    limit: int
    total: int | None
    has_next: bool


# A count over a search stops here: past it the page says "1000+" rather than scan for more.
COUNT_CAP = 1000
# The status tabs beside it are a hint where to click, so they stop sooner ("100+"): each
# stop costs about cap / (the status's share of matches) rows read.
TAB_COUNT_CAP = 100


@dataclass(frozen=True)
class StatusCounts:
    """Leads per status, and how many match the query's own status filter (all if none).

    A status in `capped` has more than its number; `total_capped` likewise for `total`.
    """

    counts: dict[Status, int]
    capped: frozenset[Status] = frozenset()
    # None: the sum of `counts` (and capped when any of them is).
    total: int | None = None
    total_capped: bool = False

    def matching(self, status: Status | None) -> tuple[int, bool]:
        """How many match the status filter (all statuses when None), and whether capped."""
        if status is None and self.total is not None:
            return self.total, self.total_capped
        chosen = [status] if status else list(self.counts)
        return (
            sum(self.counts.get(s, 0) for s in chosen),
            any(s in self.capped for s in chosen),
        )


@dataclass(frozen=True, kw_only=True)
class BulkFailure:
    lead_id: uuid.UUID
    detail: str
    # The status the lead really has, when it exists and the move was refused.
    current_status: Status | None = None


@dataclass(frozen=True, kw_only=True)
class BulkOutcome:
    updated: tuple[uuid.UUID, ...]
    failed: tuple[BulkFailure, ...]
    # Leads whose fate is unknown: the answer was lost and they could not be read back.
    unconfirmed: tuple[uuid.UUID, ...] = ()
    # Set when the answer was lost or garbled and `updated`/`failed` come from reading the
    # leads back: what went wrong with that answer.
    confirmed_after: str | None = None


@dataclass(frozen=True, kw_only=True)
class AddToGroupOutcome:
    added: int
    skipped: int


@dataclass(frozen=True, kw_only=True)
class GroupRecord:
    """A monitored WhatsApp group."""

    id: uuid.UUID
    name: str
    wa_group_id: str
    session_id: uuid.UUID
    monitor_mode: str
    monitor_keywords: tuple[str, ...]
    is_active: bool


@dataclass(frozen=True, kw_only=True)
class SessionRecord:
    """A connected WhatsApp number."""

    id: uuid.UUID
    name: str
    status: str
    phone_number: str | None


@dataclass(frozen=True, kw_only=True)
class CustomGroupRecord:
    """A contact list for outreach."""

    id: uuid.UUID
    name: str
    member_count: int
    created_at: datetime

    def with_members(self, members: tuple["CustomGroupMemberRecord", ...]) -> "CustomGroupDetail":
        return CustomGroupDetail(
            id=self.id,
            name=self.name,
            member_count=len(members),
            created_at=self.created_at,
            members=members,
        )


@dataclass(frozen=True, kw_only=True)
class CustomGroupMemberRecord:
    """One contact of a custom group: a phone (E.164) and the name it was added with."""

    phone: str
    name: str | None


@dataclass(frozen=True, kw_only=True)
class CustomGroupDetail(CustomGroupRecord):
    """A custom group with its members, in the order they were added."""

    members: tuple[CustomGroupMemberRecord, ...]


@dataclass(frozen=True, kw_only=True)
class Reciprocity:
    lead_id: uuid.UUID
    session_id: uuid.UUID
    has_messaged_first: bool
    last_inbound_at: datetime | None


class ByteChunks(Protocol):
    """An iterator of bytes that can be closed early (Django closes streamed responses)."""

    def __iter__(self) -> Iterator[bytes]: ...

    def __next__(self) -> bytes: ...

    def close(self) -> None: ...


@dataclass(frozen=True, kw_only=True)
class ExportStream:
    """A download: its type, a file name, and the body as closable chunks of bytes."""

    content_type: str
    filename: str
    chunks: ByteChunks


@dataclass(frozen=True, kw_only=True)
class SourceBudget:
    """The upstream plan's request budget as last reported, for managers to see."""

    limit: int
    remaining: int
    resets_in: int  # seconds
    saving: bool  # reads with something to show wait for the reset instead of spending it


@dataclass(frozen=True, kw_only=True)
class SourceHealth:
    """The upstream is failing: what shows on screen is the last good data, marked stale."""

    detail: str
    since: datetime


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """What a source can do, so views show only controls that work."""

    source: str  # "local" | "moltflow"
    plan: str | None  # None when the source cannot tell
    sorts: frozenset[str]
    filters: frozenset[str]
    bulk: bool
    export: bool
    export_formats: frozenset[str] = field(default_factory=lambda: frozenset(EXPORT_FORMATS))
    max_page_size: int = 100
    # How many ids the `ids` filter takes at once; None: as many as a URL carries.
    max_ids: int | None = None
    history: bool = False
    # True when "move only if still X" is checked atomically with the move itself.
    atomic_stale_check: bool = False
    rate_limit_per_minute: int | None = None

    def supports_sort(self, sort: str) -> bool:
        return sort in self.sorts
