"""The `moltflow` source: a MoltFlow account (or any MoltFlow API v2 mirror) over HTTP.

The upstream lists leads newest first and filters by status, group and search only. Other
sorts and the date filters would need every page, so they are reported unavailable in
`capabilities()` and refused with `Unsupported` rather than applied to one page.

The upstream has no id filter either. `ids` (the table's "leads not moved" link) is answered
with one cached `GET /leads/{id}` per id, at most `IDS_MAX` of them (`capabilities().max_ids`),
because every call counts against the plan's per-minute rate limit; the other filters are
then applied to that complete set, never to one page. Exporting by ids is refused.
The upstream's list of leads carries no `message_count`, so list rows leave it None.

JSON becomes records here and nowhere else; a response missing a field is `Unavailable`.
"""

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

from django.conf import settings

from leads.client import MoltflowClient, transition_from_detail
from leads.custom_groups import clean_group_name, name_taken_message, taken_by
from leads.events import announce_status_changed
from leads.exports import (
    EXPORT_MAX_ROWS,
    record_csv_row,
    record_payload,
    stream_csv,
    stream_json,
)
from leads.follow_ups import kept_lead_ids
from leads.models import PLAN_LIMITS, PLANS_WITH_BULK, build_search_text
from leads.phones import search_needle
from leads.pipeline import STATUSES, Status, is_status
from leads.services import Actor, unique_ids
from leads.sources.errors import (
    NameTaken,
    NotFound,
    NotMoved,
    RateLimited,
    SourceError,
    StaleStatus,
    Unavailable,
    Unconfirmed,
    Unsupported,
)
from leads.sources.records import (
    EXPORT_FORMATS,
    SORT_NEWEST,
    AddToGroupOutcome,
    BulkFailure,
    BulkOutcome,
    Capabilities,
    CustomGroupDetail,
    CustomGroupMemberRecord,
    CustomGroupRecord,
    ExportStream,
    GroupRecord,
    GroupRef,
    LeadDetail,
    LeadQuery,
    LeadRecord,
    Page,
    Reciprocity,
    SessionRecord,
    SourceBudget,
    SourceHealth,
    StatusCounts,
)

logger = logging.getLogger(__name__)

UPSTREAM_PAGE_MAX = 100
UPSTREAM_BULK_MAX = 1000
SORTS = frozenset({SORT_NEWEST})
FILTERS = frozenset(
    {"status", "source_group_id", "search", "ids", "owner_id", "due_from", "due_before"}
)
# One upstream call per id: kept well under the smallest bulk plan's 40 calls a minute.
IDS_MAX = 20
# Leads read back one by one after a bulk move's answer was lost; the rest stay unconfirmed.
READ_BACK_MAX = 20
# Counts and group lists stay fresh this many times longer than pages.
LONG_CACHE_FACTOR = 6
# The plan is not in the API; its per-minute rate limit (CONTRACT §1) names it.
PLAN_BY_RATE = {limits["rate"]: str(plan) for plan, limits in PLAN_LIMITS.items()}

T = TypeVar("T")


class MalformedLead(ValueError):
    """A lead object missing a field or holding a value of the wrong kind."""


# --- JSON -> records (used by the source, the sync and the webhook receiver) ----------------


def parse_datetime(value: Any) -> datetime:
    """An ISO-8601 timestamp ("…Z" or with an offset); must carry a time zone."""
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without time zone: {value!r}")
    return moment


def _optional_str(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def parse_lead(data: Any) -> LeadRecord:
    """A lead object of the API as a record; `MalformedLead` when it is not one."""
    try:
        group = data["source_group"]
        trigger = data.get("trigger") or {}
        return LeadRecord(
            id=uuid.UUID(str(data["id"])),
            contact_phone=_optional_str(data.get("contact_phone")),
            contact_name=_optional_str(data.get("contact_name")),
            status=Status(data["lead_status"]),
            score=int(data.get("lead_score") or 0),
            detected_at=parse_datetime(data["lead_detected_at"]),
            source_group=GroupRef(
                id=uuid.UUID(str(group["id"])),
                name=str(group["name"]),
                wa_group_id=_optional_str(group.get("wa_group_id")),
            ),
            matched_keyword=_optional_str(trigger.get("matched_keyword")),
            message_preview=str(trigger.get("message_preview") or "")[:500],
            monitor_mode=str(trigger.get("monitor_mode") or "keywords"),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise MalformedLead(f"not a lead object ({type(error).__name__}: {error})") from None


def parse_lead_detail(data: Any) -> LeadDetail:
    """The detailed lead object of `GET /leads/{id}` as a record."""
    record = parse_lead(data)
    try:
        return LeadDetail(
            **{
                name: getattr(record, name)
                for name in record.__dataclass_fields__
                if name != "message_count"
            },
            message_count=int(data["message_count"]),
            session_id=uuid.UUID(str(data["session_id"])),
            updated_at=parse_datetime(data["updated_at"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedLead(f"not a detailed lead ({type(error).__name__}: {error})") from None


def _parse_group(data: Any) -> GroupRecord:
    return GroupRecord(
        id=uuid.UUID(str(data["id"])),
        name=str(data["name"]),
        wa_group_id=str(data["wa_group_id"]),
        session_id=uuid.UUID(str(data["session_id"])),
        monitor_mode=str(data.get("monitor_mode") or "keywords"),
        monitor_keywords=tuple(str(k) for k in data.get("monitor_keywords") or ()),
        is_active=bool(data.get("is_active", True)),
    )


def _parse_session(data: Any) -> SessionRecord:
    return SessionRecord(
        id=uuid.UUID(str(data["id"])),
        name=str(data["name"]),
        status=str(data.get("status") or ""),
        phone_number=str(data["phone_number"]) if data.get("phone_number") else None,
    )


def _parse_custom_group(data: Any) -> CustomGroupRecord:
    return CustomGroupRecord(
        id=uuid.UUID(str(data["id"])),
        name=str(data["name"]),
        member_count=int(data.get("member_count") or 0),
        created_at=parse_datetime(data["created_at"]),
    )


def _query_params(query: LeadQuery) -> dict[str, Any]:
    return {
        "status": str(query.status) if query.status else None,
        "source_group_id": query.source_group_id,
        "search": search_needle(query.search or "") or None,
    }


class MoltflowSource:
    """Leads of a MoltFlow account, through `leads.client.MoltflowClient`."""

    name = "moltflow"

    def __init__(
        self,
        client: MoltflowClient,
        *,
        announce: Callable[[uuid.UUID | None], None] | None = None,
    ) -> None:
        self.client = client
        # Called after a move succeeds upstream, to tell this deployment's live screens
        # (`from_settings` wires leads.events; a bare source in a test announces nothing).
        self.announce = announce

    @classmethod
    def from_settings(cls) -> "MoltflowSource":
        """The source for `MOLTFLOW_API_URL` and `MOLTFLOW_API_KEY`."""
        return cls(
            MoltflowClient(
                settings.MOLTFLOW_API_URL,
                settings.MOLTFLOW_API_KEY,
                cache_seconds=float(settings.MOLTFLOW_CACHE_SECONDS),
                deadline_seconds=float(settings.MOLTFLOW_DEADLINE_SECONDS),
            ),
            announce=announce_status_changed,
        )

    # --- plumbing -------------------------------------------------------------------------

    def _parsed(self, parse: Callable[[Any], T], data: Any, what: str) -> T:
        try:
            return parse(data)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            logger.warning("MoltFlow sent a malformed %s: %s", what, error)
            raise self.client.unavailable(f"MoltFlow sent a malformed {what}.") from None

    def _collection(
        self, path: str, params: dict[str, Any] | None = None, *, long: bool = False
    ) -> Any:
        # A 404 for a collection means the base URL is wrong, not that a lead is missing.
        # `long`: counts and group lists stay fresh longer than pages (the plan's budget goes
        # to what people look at); a change made here makes them stale at once all the same.
        fresh_for = self.client.cache_seconds * LONG_CACHE_FACTOR if long else None
        try:
            return self.client.get(path, params, fresh_for=fresh_for)
        except NotFound:
            raise self.client.unavailable(
                f"MoltFlow has no {path} at {self.client.base_url}; check MOLTFLOW_API_URL."
            ) from None

    def _check_query(self, query: LeadQuery) -> None:
        if query.sort not in SORTS:
            raise Unsupported(f"MoltFlow lists leads newest first only, not by {query.sort!r}.")
        unsupported = query.filters_used() - FILTERS
        if unsupported:
            raise Unsupported(f"MoltFlow cannot filter leads by {', '.join(sorted(unsupported))}.")
        if len(set(query.ids)) > IDS_MAX:
            raise Unsupported(f"MoltFlow can look up at most {IDS_MAX} leads by id at once.")

    def _owned(self, query: LeadQuery) -> LeadQuery | None:
        """The query with our own data's filters (owner, follow-up due) turned into ids.

        Owners and follow-ups are kept here, not upstream, so their leads are read one by one
        like any id list: at most `IDS_MAX` (the soonest due, or the most recently assigned).
        None when nothing matches.
        """
        kept = self._kept(query, IDS_MAX)
        if kept is None:
            return query
        ids = [i for i in query.ids if i in set(kept)] if query.ids else kept
        if not ids:
            return None
        return replace(query, owner_id=None, due_from=None, due_before=None, ids=tuple(ids))

    def _by_ids(self, query: LeadQuery) -> list[LeadRecord]:
        """The listed leads that exist and match the query's other filters, newest first.

        The set is complete (every id is read), so filtering it here is the true answer.
        Search matches what the mirror's does: a casefolded substring of name, phone, keyword.
        """
        needle = search_needle(query.search or "")
        rows: list[LeadRecord] = []
        for lead_id in dict.fromkeys(query.ids):
            try:
                lead = self.get_lead(lead_id)
            except NotFound:
                continue  # deleted since the link was made: nothing to show
            if query.status and lead.status != query.status:
                continue
            if query.source_group_id and lead.source_group.id != query.source_group_id:
                continue
            found = build_search_text(lead.contact_name, lead.contact_phone, lead.matched_keyword)
            if needle and needle not in found:
                continue
            rows.append(lead)
        rows.sort(key=lambda row: (row.detected_at, row.id), reverse=True)
        return rows

    # --- reading ----------------------------------------------------------------------------

    def budget(self) -> SourceBudget | None:
        """The plan's budget as MoltFlow last reported it (None before its first answer)."""
        state = self.client.rate_state()
        if state.limit is None or state.remaining is None:
            return None
        now = self.client.clock()
        resets_in = max(0, round((state.reset_at or now) - now))
        return SourceBudget(
            limit=state.limit,
            remaining=state.remaining if resets_in else state.limit,
            resets_in=resets_in,
            saving=state.is_short(now),
        )

    def health(self) -> SourceHealth | None:
        """Whether MoltFlow is failing right now (shared by every process), and since when."""
        state = self.client.health()
        if state is None or state.down_since is None:
            return None
        return SourceHealth(
            detail=state.down_detail or "MoltFlow did not answer.",
            since=datetime.fromtimestamp(state.down_since, UTC),
        )

    def capabilities(self) -> Capabilities:
        """What the account can do; the plan is read from its rate limit when it sends one."""
        state = self.client.rate_state()
        if state.limit is None:
            try:
                self.client.get("/leads", {"limit": 1})
            except SourceError:
                pass  # unknown plan: offer bulk and export, the upstream refuses if it must
            state = self.client.rate_state()
        plan = PLAN_BY_RATE.get(state.limit) if state.limit is not None else None
        gated = plan in PLANS_WITH_BULK if plan is not None else True
        return Capabilities(
            source=self.name,
            plan=plan,
            sorts=SORTS,
            filters=FILTERS,
            bulk=gated,
            export=gated,
            max_page_size=UPSTREAM_PAGE_MAX * 5,
            max_ids=IDS_MAX,
            history=False,
            atomic_stale_check=False,
            rate_limit_per_minute=state.limit,
        )

    def _page(
        self, params: dict[str, Any], *, cached: bool = True, long: bool = False
    ) -> tuple[list[LeadRecord], int]:
        data = (
            self._collection("/leads", params, long=long)
            if cached
            else self.client.get("/leads", params, cached=False)
        )

        def parse(body: Any) -> tuple[list[LeadRecord], int]:
            return [parse_lead(item) for item in body["leads"]], int(body["total"])

        return self._parsed(parse, data, "list of leads")

    def matching_ids(self, query: LeadQuery, limit: int) -> list[uuid.UUID]:
        """Page through the matching leads (the largest pages the client allows)."""
        page_size = min(self.capabilities().max_page_size, 500)
        found: list[uuid.UUID] = []
        while len(found) < limit:
            # No count per page: `has_next` says when to stop.
            page = self.list_leads(query, offset=len(found), limit=page_size, count_total=False)
            found.extend(row.id for row in page.rows)
            if not page.has_next or not page.rows:
                break
        return found[:limit]

    def list_leads(
        self, query: LeadQuery, *, offset: int = 0, limit: int = 50, count_total: bool = True
    ) -> Page:
        """A page of leads, newest first; pages over 100 rows take several upstream calls.

        `count_total` changes nothing here: every upstream page carries its total for free.
        """
        self._check_query(query)
        if offset < 0 or limit < 1:
            raise Unsupported("Page must have offset >= 0 and at least one row.")
        owned = self._owned(query)
        if owned is None:
            return Page(rows=(), offset=offset, limit=limit, total=0, has_next=False)
        query = owned
        if query.ids:
            found = self._by_ids(query)
            return Page(
                rows=tuple(found[offset : offset + limit]),
                offset=offset,
                limit=limit,
                total=len(found),
                has_next=offset + limit < len(found),
            )
        rows: list[LeadRecord] = []
        total = 0
        position = offset
        while len(rows) < limit:
            size = min(UPSTREAM_PAGE_MAX, limit - len(rows))
            page, total = self._page({**_query_params(query), "limit": size, "offset": position})
            rows.extend(page)
            position += len(page)
            if len(page) < size or position >= total:
                break
        return Page(
            rows=tuple(rows),
            offset=offset,
            limit=limit,
            total=total,
            has_next=offset + len(rows) < total,
        )

    def fresh_page(self, *, offset: int, limit: int = UPSTREAM_PAGE_MAX) -> Page:
        """A page of every lead, newest first, read past the cache (for the sync)."""
        rows, total = self._page({"limit": limit, "offset": offset}, cached=False)
        return Page(
            rows=tuple(rows),
            offset=offset,
            limit=limit,
            total=total,
            has_next=bool(rows) and offset + len(rows) < total,
        )

    def fresh_lead(self, lead_id: uuid.UUID) -> LeadDetail:
        """The detailed lead read past the cache (for the sync: `message_count` and the rest
        of the contract's fields are only in the detail)."""
        data = self.client.get(f"/leads/{lead_id}", cached=False)
        return self._parsed(parse_lead_detail, data, "lead")

    def count_by_status(self, query: LeadQuery | None = None) -> dict[Status, int]:
        """One cached `limit=1` call per status, reading its `total` (by ids: counted here)."""
        query = self._owned(query or LeadQuery())
        if query is None:
            return dict.fromkeys(STATUSES, 0)
        self._check_query(query)
        if query.ids:
            found = self._by_ids(replace(query, status=None))
            return {status: sum(row.status == status for row in found) for status in STATUSES}
        counts: dict[Status, int] = {}
        for status in STATUSES:
            params = {**_query_params(query), "status": status.value, "limit": 1}
            _, total = self._page(params, long=True)
            counts[status] = total
        return counts

    def count_by_status_capped(self, query: LeadQuery, cap: int, tab_cap: int) -> StatusCounts:
        """MoltFlow's `total` is exact and costs one call per status either way: no cap.

        Except over our own data's filters (owner, follow-up due): only `IDS_MAX` of their
        leads are read, so when more match, every count says so ("20+").
        """
        counts = self.count_by_status(query)
        if self._owned_past_max(query):
            return StatusCounts(counts, capped=frozenset(STATUSES), total_capped=True)
        return StatusCounts(counts)

    def _owned_past_max(self, query: LeadQuery) -> bool:
        """Whether more leads match our own data's filters than `_owned` reads."""
        kept = self._kept(query, IDS_MAX + 1)
        return kept is not None and len(kept) > IDS_MAX

    @staticmethod
    def _kept(query: LeadQuery, limit: int) -> list[uuid.UUID] | None:
        """Ids of the leads our own data's filters (owner, follow-up due) match, at most
        `limit`; None when the query uses none of them."""
        if query.owner_id is None and query.due_from is None and query.due_before is None:
            return None
        return kept_lead_ids(
            owner_id=query.owner_id,
            due_from=query.due_from,
            due_before=query.due_before,
            limit=limit,
        )

    def get_lead(self, lead_id: uuid.UUID) -> LeadDetail:
        """The detailed lead (no history: MoltFlow's API does not publish it)."""
        data = self.client.get(f"/leads/{lead_id}")
        return self._parsed(parse_lead_detail, data, "lead")

    # --- changing status ------------------------------------------------------------------

    def change_status(
        self,
        lead_id: uuid.UUID,
        target: Status,
        *,
        actor: Actor,
        expected_status: Status | None = None,
        reason: str = "",
    ) -> LeadDetail:
        """PATCH the lead's status; upstream records the change against the API key.

        The stale check is a fresh read just before the PATCH: it refuses a move from a
        status the screen no longer shows, but cannot close the gap between the two calls
        (the API has no compare-and-set), which `capabilities().atomic_stale_check` says.
        """
        if not is_status(target):
            raise ValueError(f"Unknown status: {target!r}")
        if expected_status is not None:
            try:
                data = self.client.get(f"/leads/{lead_id}", cached=False)
                current = self._parsed(parse_lead_detail, data, "lead").status
            except (Unavailable, RateLimited) as error:
                raise NotMoved(f"Not moved: {error.detail}") from None
            if current != expected_status:
                raise StaleStatus(current, target, expected_status)
        logger.info("MoltFlow lead %s -> %s by %s %s", lead_id, target, actor.kind, actor.label)
        try:
            data = self.client.send("PATCH", f"/leads/{lead_id}/status", {"status": str(target)})
            moved = self._parsed(parse_lead_detail, data, "lead")
        except RateLimited as error:
            raise NotMoved(f"Not moved: {error.detail}") from None
        except Unavailable as lost:
            moved = self._read_back(lead_id, target, lost)
        if self.announce is not None:
            self.announce(lead_id)
        return moved

    def _read_back(self, lead_id: uuid.UUID, target: Status, lost: Unavailable) -> LeadDetail:
        """The lead after a move whose answer was lost or garbled: what is true now.

        Returned (marked `confirmed_after`) when it is in `target`; `NotMoved` when it is
        not, or when the move never reached MoltFlow; `Unconfirmed` when it cannot be read.
        """
        if not lost.reached:
            raise NotMoved(f"Not moved: {lost.detail}")
        try:
            data = self.client.get(f"/leads/{lead_id}", cached=False)
            lead = self._parsed(parse_lead_detail, data, "lead")
        except (Unavailable, RateLimited) as error:
            raise Unconfirmed(
                f"MoltFlow's answer to the move was lost ({lost.detail}) and the lead could not "
                f"be read back ({error.detail}).",
                since=lost.since,
                retry_after=error.retry_after,
            ) from None
        if lead.status != target:
            raise NotMoved(
                f"Not moved: MoltFlow's answer was lost ({lost.detail}); read back, the lead "
                f"is {lead.status}.",
                current=lead.status,
            )
        return replace(lead, confirmed_after=lost.detail)

    def bulk_change_status(
        self,
        lead_ids: Sequence[uuid.UUID],
        target: Status,
        *,
        actor: Actor,
        reason: str = "",
    ) -> BulkOutcome:
        """`POST /leads/bulk/status` in batches of 1000; every refusal is reported."""
        if not is_status(target):
            raise ValueError(f"Unknown status: {target!r}")
        ids = unique_ids(lead_ids)
        failed: dict[str, BulkFailure] = {}
        unconfirmed: list[str] = []
        lost: Unavailable | None = None
        for start in range(0, len(ids), UPSTREAM_BULK_MAX):
            batch = ids[start : start + UPSTREAM_BULK_MAX]
            if lost is not None:
                # After a lost answer nothing more is sent: the person decides on the rest.
                detail = "Not sent: MoltFlow failed on an earlier part of this change."
                failed.update({i: BulkFailure(lead_id=uuid.UUID(i), detail=detail) for i in batch})
                continue
            try:
                data = self.client.send(
                    "POST", "/leads/bulk/status", {"lead_ids": batch, "status": str(target)}
                )
                failures = self._parsed(_parse_bulk_errors, data, "bulk result")
            except RateLimited as error:
                if start == 0:
                    raise
                lost = Unavailable(error.detail)
                lost.reached = False
                failures = [BulkFailure(lead_id=uuid.UUID(i), detail=error.detail) for i in batch]
            except Unavailable as error:
                if start == 0 and not error.reached:
                    raise
                lost = error
                failures, unknown = self._read_back_many(batch, target, error)
                unconfirmed.extend(unknown)
            for failure in failures:
                failed[str(failure.lead_id)] = failure
        logger.info("MoltFlow bulk -> %s by %s: %d leads", target, actor.label, len(ids))
        settled = failed.keys() | set(unconfirmed)
        if self.announce is not None and len(settled) < len(ids):
            self.announce(None)
        return BulkOutcome(
            updated=tuple(uuid.UUID(lead_id) for lead_id in ids if lead_id not in settled),
            failed=tuple(failed.values()),
            unconfirmed=tuple(uuid.UUID(lead_id) for lead_id in unconfirmed),
            confirmed_after=lost.detail if lost is not None and lost.reached else None,
        )

    def _read_back_many(
        self, batch: Sequence[str], target: Status, lost: Unavailable
    ) -> tuple[list[BulkFailure], list[str]]:
        """After a bulk move's answer was lost: the leads not in `target`, and those unknown.

        One read per lead, so at most `READ_BACK_MAX` of them (each costs the plan's budget);
        the first read that fails ends the reading, since the next would fail the same way.
        """
        if not lost.reached:
            detail = f"Not moved: {lost.detail}"
            return [BulkFailure(lead_id=uuid.UUID(i), detail=detail) for i in batch], []
        failures: list[BulkFailure] = []
        for position, lead_id in enumerate(batch):
            if position >= READ_BACK_MAX:
                return failures, list(batch[position:])
            try:
                lead = self._parsed(
                    parse_lead_detail, self.client.get(f"/leads/{lead_id}", cached=False), "lead"
                )
            except NotFound:
                failures.append(BulkFailure(lead_id=uuid.UUID(lead_id), detail="Lead not found."))
                continue
            except (Unavailable, RateLimited):
                return failures, list(batch[position:])
            if lead.status != target:
                failures.append(
                    BulkFailure(
                        lead_id=lead.id,
                        detail=f"Not moved: read back, the lead is {lead.status}.",
                        current_status=lead.status,
                    )
                )
        return failures, []

    # --- groups ---------------------------------------------------------------------------

    def add_to_custom_group(
        self, lead_ids: Sequence[uuid.UUID], custom_group_id: uuid.UUID
    ) -> AddToGroupOutcome:
        """`POST /leads/bulk/add-to-group` in batches of 1000."""
        ids = unique_ids(lead_ids)
        added = skipped = 0
        for start in range(0, len(ids), UPSTREAM_BULK_MAX):
            data = self.client.send(
                "POST",
                "/leads/bulk/add-to-group",
                {
                    "lead_ids": ids[start : start + UPSTREAM_BULK_MAX],
                    "custom_group_id": str(custom_group_id),
                },
            )
            counts = self._parsed(lambda d: (int(d["added"]), int(d["skipped"])), data, "result")
            added, skipped = added + counts[0], skipped + counts[1]
        return AddToGroupOutcome(added=added, skipped=skipped)

    def list_custom_groups(self) -> tuple[CustomGroupRecord, ...]:
        """`GET /custom-groups`."""
        data = self._collection("/custom-groups", long=True)
        return self._parsed(
            lambda d: tuple(_parse_custom_group(item) for item in d["items"]),
            data,
            "list of custom groups",
        )

    def create_custom_group(self, name: str) -> CustomGroupRecord:
        """`POST /custom-groups` with no members."""
        data = self.client.send("POST", "/custom-groups", {"name": self._free_name(name)})
        return self._parsed(_parse_custom_group, data, "custom group")

    def _free_name(self, name: str, group_id: uuid.UUID | None = None) -> str:
        """The cleaned name, unless empty (`ValueError`) or another group's (`NameTaken`).

        Checked here against the (cached) list: the contract does not say that MoltFlow
        refuses a second group of the same name.
        """
        name = clean_group_name(name)
        if not name:
            raise ValueError("A custom group needs a name.")
        groups = ((group.id, group.name) for group in self.list_custom_groups())
        existing = taken_by(name, groups, except_id=group_id)
        if existing is not None:
            raise NameTaken(name_taken_message(existing))
        return name

    def get_custom_group(self, group_id: uuid.UUID) -> CustomGroupDetail:
        """`GET /custom-groups/{id}` (with members)."""
        data = self.client.get(f"/custom-groups/{group_id}")

        def parse(body: Any) -> CustomGroupDetail:
            members = tuple(
                CustomGroupMemberRecord(
                    phone=str(item["phone"]), name=str(item["name"]) if item.get("name") else None
                )
                for item in body["members"]
            )
            return _parse_custom_group(body).with_members(members)

        return self._parsed(parse, data, "custom group")

    def rename_custom_group(self, group_id: uuid.UUID, name: str) -> CustomGroupRecord:
        """`PATCH /custom-groups/{id}` with the new name."""
        body = {"name": self._free_name(name, group_id)}
        data = self.client.send("PATCH", f"/custom-groups/{group_id}", body)
        return self._parsed(_parse_custom_group, data, "custom group")

    def delete_custom_group(self, group_id: uuid.UUID) -> None:
        """`DELETE /custom-groups/{id}`."""
        self.client.send("DELETE", f"/custom-groups/{group_id}", None)

    def remove_custom_group_member(self, group_id: uuid.UUID, phone: str) -> None:
        """`DELETE /custom-groups/{id}/members/{phone}`."""
        path = f"/custom-groups/{group_id}/members/{quote(phone, safe='')}"
        self.client.send("DELETE", path, None)

    def leads_of_contacts(self, phones: Sequence[str]) -> dict[str, tuple[LeadRecord, ...]]:
        """One cached `GET /leads?search=<phone>` per phone, at most `IDS_MAX` phones.

        The search is a substring match, so only leads whose phone is exactly the member's
        are kept.
        """
        phones = list(dict.fromkeys(phones))
        if len(phones) > IDS_MAX:
            raise Unsupported(f"MoltFlow can look up at most {IDS_MAX} contacts' leads at once.")
        found: dict[str, tuple[LeadRecord, ...]] = {}
        for phone in phones:
            params = {"search": search_needle(phone), "limit": UPSTREAM_PAGE_MAX, "offset": 0}
            rows, _ = self._page(params)
            leads = tuple(lead for lead in rows if lead.contact_phone == phone)
            if leads:
                found[phone] = leads
        return found

    def list_groups(self) -> tuple[GroupRecord, ...]:
        """`GET /groups`."""
        data = self._collection("/groups", long=True)
        return self._parsed(
            lambda d: tuple(_parse_group(item) for item in d["items"]), data, "list of groups"
        )

    def list_sessions(self) -> tuple[SessionRecord, ...]:
        """`GET /sessions` (a bare array)."""
        data = self._collection("/sessions", long=True)
        return self._parsed(
            lambda d: tuple(_parse_session(item) for item in d), data, "list of sessions"
        )

    def reciprocity(self, lead_id: uuid.UUID, session_id: uuid.UUID | None = None) -> Reciprocity:
        """`GET /leads/{id}/reciprocity`, for the lead's own session unless told another."""
        if session_id is None:
            session_id = self.get_lead(lead_id).session_id
        data = self.client.get(f"/leads/{lead_id}/reciprocity", {"session_id": session_id})

        def parse(body: Any) -> Reciprocity:
            last = body.get("last_inbound_at")
            return Reciprocity(
                lead_id=uuid.UUID(str(body["lead_id"])),
                session_id=session_id,
                has_messaged_first=bool(body["has_messaged_first"]),
                last_inbound_at=parse_datetime(last) if last else None,
            )

        return self._parsed(parse, data, "reciprocity answer")

    # --- export ---------------------------------------------------------------------------

    def export(self, fmt: str, query: LeadQuery) -> ExportStream:
        """The upstream's JSON export, every lead parsed and checked, then written anew.

        Never passed through as bytes: a truncated or garbled export is `Unavailable` before
        the download starts, and the CSV is neutralised here whatever the upstream did.
        """
        if fmt not in EXPORT_FORMATS:
            raise Unsupported(f"Cannot export as {fmt!r}.")
        self._check_query(query)
        if query.filters_used() & {"ids", "owner_id", "due_from", "due_before"}:
            raise Unsupported(
                "MoltFlow's export cannot pick leads by id, owner or follow-up; export without it."
            )
        data = self.client.get("/leads/export/json", _query_params(query), cached=False)
        rows = self._parsed(lambda d: [parse_lead(item) for item in d], data, "export")
        if fmt == "csv":
            lines = stream_csv(rows[:EXPORT_MAX_ROWS], cells=record_csv_row)
            content_type = "text/csv; charset=utf-8"
        else:
            lines = stream_json(rows[:EXPORT_MAX_ROWS], payload=record_payload)
            content_type = "application/json"
        chunks = (line.encode() for line in lines)
        return ExportStream(content_type=content_type, filename=f"leads.{fmt}", chunks=chunks)


def _parse_bulk_errors(data: Any) -> list[BulkFailure]:
    int(data["updated"])  # present and a number, or the answer is not a bulk result
    failures = []
    for item in data["errors"]:
        detail = str(item["detail"])
        transition = transition_from_detail(detail)
        current = transition[0] if transition and is_status(transition[0]) else None
        failures.append(
            BulkFailure(
                lead_id=uuid.UUID(str(item["lead_id"])),
                detail=detail,
                current_status=Status(current) if current else None,
            )
        )
    return failures
