"""The `local` source: the dashboard's own store, in process.

Reads go through `leads.queries`, writes through `leads.services` (which own the status rules
and history). The plan gates are the ones the mirror API applies, from `Account.current()`,
so the dashboard behaves the same whichever source it reads.
"""

import uuid
from collections.abc import Generator, Iterator, Sequence
from typing import Any

from django.db import connection
from django.db.models import Count, F, OrderBy, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Lower

from leads import services
from leads.custom_groups import clean_group_name, name_taken_message, taken_by
from leads.exports import EXPORT_MAX_ROWS, stream_csv, stream_json
from leads.models import (
    PIPELINE_ORDER,
    PLANS_WITH_BULK,
    Account,
    CustomGroup,
    Lead,
    LeadStatusChange,
    MonitoredGroup,
    Session,
)
from leads.pipeline import STATUSES, Status
from leads.pipeline import InvalidTransition as PipelineInvalidTransition
from leads.queries import NEWEST_FIRST, last_direct_message_at, leads_matching
from leads.services import Actor
from leads.sources.errors import (
    Forbidden,
    InvalidTransition,
    NameTaken,
    NotFound,
    StaleStatus,
    Unsupported,
)
from leads.sources.records import (
    EXPORT_FORMATS,
    FILTER_NAMES,
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
    StatusChangeRecord,
    StatusCounts,
)
from leads.totals import totals_by_status

# Every sort ends on the newest-first pair, so pages are stable when the first key ties.
_ORDERINGS: dict[str, tuple[Any, ...]] = {
    "-detected_at": NEWEST_FIRST,
    "detected_at": ("lead_detected_at", "id"),
    "contact_name": (Lower("contact_name").asc(nulls_last=True), *NEWEST_FIRST),
    # The expression of the `lead_name_desc_newest` index: unnamed contacts come last.
    "-contact_name": (Coalesce(Lower("contact_name"), Value("")).desc(), *NEWEST_FIRST),
    "status": (PIPELINE_ORDER.asc(), *NEWEST_FIRST),
    "-status": (PIPELINE_ORDER.desc(), *NEWEST_FIRST),
    "-score": ("-lead_score", *NEWEST_FIRST),
    "score": ("lead_score", *NEWEST_FIRST),
    # The lead's own copy of its group's lower-cased name (kept by PostgreSQL triggers),
    # indexed both ways: ordering by the joined group's name sorted every lead.
    "group_name": ("group_sort_name", *NEWEST_FIRST),
    "-group_name": ("-group_sort_name", *NEWEST_FIRST),
}
# SQLite keeps no copy (see leads.group_sort_sql): its group sorts join the group.
_SQLITE_ORDERINGS: dict[str, tuple[Any, ...]] = {
    "group_name": (Lower("source_group__name").asc(), *NEWEST_FIRST),
    "-group_name": (Lower("source_group__name").desc(), *NEWEST_FIRST),
}
MAX_PAGE_SIZE = 500


def _order_terms(ordering: tuple[Any, ...]) -> list[OrderBy]:
    """A sort's terms as `OrderBy` expressions ("-x" becomes `F("x").desc()`)."""
    return [
        (F(term[1:]).desc() if term.startswith("-") else F(term).asc())
        if isinstance(term, str)
        else term
        for term in ordering
    ]


def _past(
    leads: QuerySet[Lead], ordering: list[OrderBy], cursor: uuid.UUID
) -> QuerySet[Lead] | None:
    """The leads after `cursor` in `ordering` (keyset paging), or None when it is gone.

    The cursor's own sort keys are read by its primary key; the first key also bounds the
    scan (`>=` or `<=`), so the database starts its index walk at the cursor, not at row 1.
    Every sort ends on the unique id, so "after" is exact: ties are broken as the page is.
    """
    names = [f"_key{index}" for index in range(len(ordering))]
    keys = dict(zip(names, (term.expression for term in ordering), strict=True))
    values = Lead.objects.filter(pk=cursor).annotate(**keys).values_list(*names).first()
    if values is None:
        return None
    after = Q(pk__in=[])  # nothing yet
    tied = Q()
    for name, term, value in zip(names, ordering, values, strict=True):
        if value is None:  # only the name sort has gaps: unnamed contacts
            if term.nulls_first:  # every named contact comes after an unnamed one
                after |= tied & Q(**{f"{name}__isnull": False})
            tied &= Q(**{f"{name}__isnull": True})
            continue
        beyond = Q(**{f"{name}__{'lt' if term.descending else 'gt'}": value})
        if term.nulls_last:
            beyond |= Q(**{f"{name}__isnull": True})
        after |= tied & beyond
        tied &= Q(**{name: value})
    first, start = names[0], values[0]
    bound = Q()
    if start is not None and not (ordering[0].nulls_last or ordering[0].nulls_first):
        bound = Q(**{f"{first}__{'lte' if ordering[0].descending else 'gte'}": start})
    return leads.annotate(**keys).filter(bound, after)


def _keyset_page(
    leads: QuerySet[Lead], ordering: list[OrderBy], query: LeadQuery, offset: int, limit: int
) -> Page | None:
    """The page after `query.after` (or before `query.before`), or None when that lead is gone.

    `offset` is only what the page says it shows ("leads 101-150"): the cursor moves it.
    """
    if query.before:  # read backwards from the cursor, then turn the rows round
        ordering = [term.copy() for term in ordering]
        for term in ordering:
            term.reverse_ordering()
    cursor = query.after or query.before
    assert cursor is not None
    past = _past(leads, ordering, cursor)
    if past is None:
        return None
    fetched = [lead_record(lead) for lead in past.order_by(*ordering)[: limit + 1]]
    if query.before:  # the cursor itself comes after these rows
        rows = tuple(reversed(fetched[:limit]))
        return Page(rows=rows, offset=offset, limit=limit, total=None, has_next=True)
    return _page_of(fetched, offset, limit)


def _page_of(fetched: list[LeadRecord], offset: int, limit: int) -> Page:
    """A page from `limit + 1` rows read: the one past the page says whether there is a next
    one, without a COUNT that grows with the number of matching leads."""
    more = len(fetched) > limit
    return Page(
        rows=tuple(fetched[:limit]),
        offset=offset,
        limit=limit,
        total=None if more else offset + len(fetched),
        has_next=more,
    )


def lead_record(lead: Lead) -> LeadRecord:
    """A store row as a record (the lead's group must be loaded with it)."""
    group = lead.source_group
    return LeadRecord(
        id=lead.id,
        contact_phone=lead.contact_phone,
        contact_name=lead.contact_name,
        status=Status(lead.lead_status),
        score=lead.lead_score,
        detected_at=lead.lead_detected_at,
        source_group=GroupRef(id=group.id, name=group.name, wa_group_id=group.wa_group_id),
        matched_keyword=lead.matched_keyword,
        message_preview=lead.message_preview,
        monitor_mode=lead.monitor_mode,
        message_count=lead.message_count,
        reasons=tuple(r for r in lead.lead_reasons or () if isinstance(r, str)),
    )


def _history_record(change: LeadStatusChange) -> StatusChangeRecord:
    return StatusChangeRecord(
        from_status=Status(change.from_status),
        to_status=Status(change.to_status),
        changed_at=change.changed_at,
        actor_kind=change.actor_kind,
        actor_label=change.actor_name,
        reason=change.reason,
    )


def _record(group: CustomGroup, member_count: int) -> CustomGroupRecord:
    return CustomGroupRecord(
        id=group.id, name=group.name, member_count=member_count, created_at=group.created_at
    )


def _totals_answer(query: LeadQuery) -> bool:
    """Whether the kept totals answer the counts: no filter but the group (status ignored)."""
    return not (query.filters_used() - {"status", "source_group_id"})


class LocalSource:
    """Leads from this deployment's own store."""

    name = "local"

    # --- reading ------------------------------------------------------------------------

    def budget(self) -> SourceBudget | None:
        """The store has no request budget."""
        return None

    def health(self) -> SourceHealth | None:
        """The store is this process's own database: there is no upstream to lose."""
        return None

    def capabilities(self) -> Capabilities:
        """Everything the store can do, gated by the mirrored account's plan."""
        plan = Account.current().plan
        return Capabilities(
            source=self.name,
            plan=plan,
            sorts=frozenset(_ORDERINGS),
            filters=frozenset(FILTER_NAMES),
            bulk=plan in PLANS_WITH_BULK,
            export=plan in PLANS_WITH_BULK,
            max_page_size=MAX_PAGE_SIZE,
            history=True,
            atomic_stale_check=True,
        )

    def _matching(self, query: LeadQuery, *, with_status: bool = True) -> QuerySet[Lead]:
        return leads_matching(
            status=query.status if with_status else None,
            source_group_id=query.source_group_id,
            search=query.search,
            detected_from=query.detected_from,
            detected_to=query.detected_to,
            ids=query.ids,
            min_score=query.min_score,
            owner_id=query.owner_id,
            unassigned=query.unassigned,
            due_from=query.due_from,
            due_before=query.due_before,
            noted=query.noted,
        )

    def _ordering(self, sort: str) -> tuple[Any, ...]:
        if connection.vendor == "sqlite" and sort in _SQLITE_ORDERINGS:
            return _SQLITE_ORDERINGS[sort]
        try:
            return _ORDERINGS[sort]
        except KeyError:
            raise Unsupported(f"Cannot sort leads by {sort!r}.") from None

    def matching_ids(self, query: LeadQuery, limit: int) -> list[uuid.UUID]:
        """One query for the ids alone (over the same indexes as a page)."""
        ordered = self._matching(query).order_by(*self._ordering(query.sort))
        return list(ordered.values_list("id", flat=True)[:limit])

    def list_leads(
        self, query: LeadQuery, *, offset: int = 0, limit: int = 50, count_total: bool = True
    ) -> Page:
        """One page of matching leads, in the query's order, with the total count."""
        if offset < 0 or not 1 <= limit <= MAX_PAGE_SIZE:
            raise Unsupported(f"Page must have offset >= 0 and 1..{MAX_PAGE_SIZE} rows.")
        leads = self._matching(query)
        if not count_total:
            ordering = _order_terms(self._ordering(query.sort))
            if query.after or query.before:
                keyset = _keyset_page(leads, ordering, query, offset, limit)
                if keyset is not None:
                    return keyset
            page = leads.order_by(*ordering)[offset : offset + limit + 1]
            return _page_of([lead_record(lead) for lead in page], offset, limit)
        rows = tuple(
            lead_record(lead)
            for lead in leads.order_by(*self._ordering(query.sort))[offset : offset + limit]
        )
        # A short page at the start needs no COUNT: its length is the total.
        total = len(rows) if offset == 0 and len(rows) < limit else leads.count()
        return Page(
            rows=rows,
            offset=offset,
            limit=limit,
            total=total,
            has_next=offset + len(rows) < total,
        )

    def count_by_status(self, query: LeadQuery | None = None) -> dict[Status, int]:
        """Leads per status: the kept totals when only a group filters, else one grouped count."""
        query = query or LeadQuery()
        if _totals_answer(query):
            return totals_by_status(query.source_group_id)
        leads = self._matching(query, with_status=False)
        counts = dict(
            leads.order_by()
            .values("lead_status")
            .annotate(n=Count("id"))
            .values_list("lead_status", "n")
        )
        return {status: counts.get(status.value, 0) for status in STATUSES}

    def count_by_status_capped(self, query: LeadQuery, cap: int, tab_cap: int) -> StatusCounts:
        """Exact kept totals when only a group filters; else capped counts in one statement.

        The statement first reads a few matches of every status (`probe`: up to `cap` + 1,
        the "all" count, or `tab_cap` + 1 when a status is chosen). A search for a person, a
        name or a phone, finds fewer: every status is then counted exactly from those rows,
        one index read in all. Past the probe each status gets its own `COUNT(*)` over a
        `LIMIT`ed subquery (the one asked for up to `cap`, the others up to `tab_cap`), so a
        common word stops after a few thousand rows instead of counting 160,000; PostgreSQL
        and SQLite run those only when the probe is full.
        """
        if _totals_answer(query):
            return StatusCounts(totals_by_status(query.source_group_id))
        leads = self._matching(query, with_status=False).order_by()
        probe = cap if query.status is None else tab_cap
        probe_sql, probe_params = leads.values("lead_status")[: probe + 1].query.sql_with_params()
        params = list(probe_params)
        exact = "(SELECT COUNT(*) FROM probe WHERE lead_status = %s)"
        parts = ["found.n"]
        limits = [cap if s == query.status else tab_cap for s in STATUSES]
        for status, limit in zip(STATUSES, limits, strict=True):
            subset = leads.filter(lead_status=status.value).values("pk")[: limit + 1]
            sql, subset_params = subset.query.sql_with_params()
            # ORM-compiled SQL with its own parameters: nothing user-written is spliced in.
            counted = f"(SELECT COUNT(*) FROM ({sql}) AS capped)"  # noqa: S608
            parts.append(f"CASE WHEN found.n <= %s THEN {exact} ELSE {counted} END")
            params.extend([probe, status.value, *subset_params])
        # `found`: the probe counted once, read by every status's CASE.
        found = "(SELECT COUNT(*) AS n FROM probe) AS found"
        select = f"SELECT {', '.join(parts)} FROM {found}"  # noqa: S608 (ORM-compiled parts)
        with connection.cursor() as cursor:
            cursor.execute(f"WITH probe AS ({probe_sql}) {select}", params)
            matches, *numbers = cursor.fetchone()
        if matches <= probe:
            return StatusCounts(dict(zip(STATUSES, numbers, strict=True)), total=matches)
        counts = {s: min(n, limit) for s, n, limit in zip(STATUSES, numbers, limits, strict=True)}
        capped = frozenset(
            s for s, n, limit in zip(STATUSES, numbers, limits, strict=True) if n > limit
        )
        if query.status is None:  # the probe was the "all" count
            return StatusCounts(counts, capped, min(matches, cap), matches > cap)
        return StatusCounts(counts, capped)

    def get_lead(self, lead_id: uuid.UUID) -> LeadDetail:
        """The lead with its message count, session and status history."""
        lead = Lead.objects.select_related("source_group").filter(pk=lead_id).first()
        if lead is None:
            raise NotFound(f"Lead {lead_id} not found.")
        changes = LeadStatusChange.objects.filter(lead_id=lead.id).select_related("user")
        record = lead_record(lead)
        return LeadDetail(
            **{name: getattr(record, name) for name in record.__dataclass_fields__},
            session_id=lead.source_group.session_id,
            updated_at=lead.updated_at,
            history=tuple(_history_record(change) for change in changes),
        )

    # --- changing status ----------------------------------------------------------------

    def change_status(
        self,
        lead_id: uuid.UUID,
        target: Status,
        *,
        actor: Actor,
        expected_status: Status | None = None,
        reason: str = "",
    ) -> LeadDetail:
        """Move one lead through `services.lead_change_status` (atomic, with history)."""
        try:
            services.lead_change_status(
                lead_id, target, actor, expected_status=expected_status, reason=reason
            )
        except services.LeadNotFound:
            raise NotFound(f"Lead {lead_id} not found.") from None
        except services.StaleStatus as stale:
            last = stale.last_change
            raise StaleStatus(
                stale.current,
                stale.target,
                stale.expected,
                changed_by=last.actor_name if last else None,
                changed_at=last.changed_at if last else None,
            ) from None
        except PipelineInvalidTransition as refused:
            raise InvalidTransition(refused.current, refused.target) from None
        return self.get_lead(lead_id)

    def _require_bulk_plan(self, what: str) -> None:
        if refusal := Account.current().bulk_refusal(what):
            raise Forbidden(refusal, kind="plan")

    def bulk_change_status(
        self,
        lead_ids: Sequence[uuid.UUID],
        target: Status,
        *,
        actor: Actor,
        reason: str = "",
    ) -> BulkOutcome:
        """Move many leads in a constant number of statements; Pro plan or above."""
        self._require_bulk_plan("Bulk operations")
        result = services.lead_bulk_change_status(lead_ids, target, actor, reason=reason)
        return BulkOutcome(
            updated=tuple(uuid.UUID(lead_id) for lead_id in result.updated),
            failed=tuple(
                BulkFailure(
                    lead_id=uuid.UUID(failure.lead_id),
                    detail=failure.detail,
                    current_status=Status(failure.current_status)
                    if failure.current_status
                    else None,
                )
                for failure in result.failed
            ),
        )

    # --- groups -------------------------------------------------------------------------

    def add_to_custom_group(
        self, lead_ids: Sequence[uuid.UUID], custom_group_id: uuid.UUID
    ) -> AddToGroupOutcome:
        """Add the leads' phones to the custom group; Pro plan or above."""
        self._require_bulk_plan("Bulk operations")
        group = CustomGroup.objects.filter(pk=custom_group_id).first()
        if group is None:
            raise NotFound(f"Custom group {custom_group_id} not found.")
        result = services.custom_group_add_leads(group, lead_ids)
        return AddToGroupOutcome(added=result.added, skipped=result.skipped)

    def list_custom_groups(self) -> tuple[CustomGroupRecord, ...]:
        """Every custom group with its member count."""
        groups = CustomGroup.objects.annotate(member_count=Count("members")).order_by("name", "id")
        return tuple(_record(group, group.member_count) for group in groups)

    def create_custom_group(self, name: str) -> CustomGroupRecord:
        """A new empty custom group, within the plan's number of custom groups."""
        name = self._free_name(name)
        existing = CustomGroup.objects.count()
        if refusal := Account.current().room_refusal("custom_groups", existing, "custom groups"):
            raise Forbidden(refusal, kind="limit")
        return _record(CustomGroup.objects.create(name=name), 0)

    def _free_name(self, name: str, group_id: uuid.UUID | None = None) -> str:
        """The cleaned name, unless it is empty (`ValueError`) or taken (`NameTaken`)."""
        name = clean_group_name(name)
        if not name:
            raise ValueError("A custom group needs a name.")
        existing = taken_by(name, CustomGroup.objects.values_list("id", "name"), except_id=group_id)
        if existing is not None:
            raise NameTaken(name_taken_message(existing))
        return name

    def _custom_group(self, group_id: uuid.UUID) -> CustomGroup:
        group = CustomGroup.objects.filter(pk=group_id).first()
        if group is None:
            raise NotFound(f"Custom group {group_id} not found.")
        return group

    def get_custom_group(self, group_id: uuid.UUID) -> CustomGroupDetail:
        """The group and its members, oldest first."""
        group = self._custom_group(group_id)
        members = tuple(
            CustomGroupMemberRecord(phone=phone, name=name or None)
            for phone, name in group.members.order_by("added_at", "id").values_list("phone", "name")
        )
        return _record(group, len(members)).with_members(members)

    def rename_custom_group(self, group_id: uuid.UUID, name: str) -> CustomGroupRecord:
        """Another name for the group, unless another group has it."""
        group = self._custom_group(group_id)
        group.name = self._free_name(name, group.id)
        group.save(update_fields=["name"])
        return _record(group, group.members.count())

    def delete_custom_group(self, group_id: uuid.UUID) -> None:
        """The group and its member list go (one statement, cascading); leads stay."""
        deleted, _ = CustomGroup.objects.filter(pk=group_id).delete()
        if not deleted:
            raise NotFound(f"Custom group {group_id} not found.")

    def remove_custom_group_member(self, group_id: uuid.UUID, phone: str) -> None:
        """One phone off the group."""
        group = self._custom_group(group_id)
        deleted, _ = group.members.filter(phone=phone).delete()
        if not deleted:
            raise NotFound(f"{phone} is not in {group.name}.")

    def leads_of_contacts(self, phones: Sequence[str]) -> dict[str, tuple[LeadRecord, ...]]:
        """One indexed query (`lead_phone_newest`) for every phone."""
        found: dict[str, list[LeadRecord]] = {}
        rows = (
            Lead.objects.filter(contact_phone__in=set(phones))
            .select_related("source_group")
            .order_by("contact_phone", *NEWEST_FIRST)
        )
        for lead in rows:
            found.setdefault(lead.contact_phone or "", []).append(lead_record(lead))
        return {phone: tuple(leads) for phone, leads in found.items()}

    def list_groups(self) -> tuple[GroupRecord, ...]:
        """Every monitored group."""
        return tuple(
            GroupRecord(
                id=group.id,
                name=group.name,
                wa_group_id=group.wa_group_id,
                session_id=group.session_id,
                monitor_mode=group.monitor_mode,
                monitor_keywords=tuple(group.monitor_keywords or ()),
                is_active=group.is_active,
            )
            for group in MonitoredGroup.objects.order_by("name", "id")
        )

    def list_sessions(self) -> tuple[SessionRecord, ...]:
        """Every session, oldest first."""
        return tuple(
            SessionRecord(
                id=session.id,
                name=session.name,
                status=session.status,
                phone_number=session.phone_number or None,
            )
            for session in Session.objects.order_by("created_at", "id")
        )

    def reciprocity(self, lead_id: uuid.UUID, session_id: uuid.UUID | None = None) -> Reciprocity:
        """Whether the contact sent a direct message to the session (the lead's by default)."""
        lead = Lead.objects.select_related("source_group").filter(pk=lead_id).first()
        if lead is None:
            raise NotFound(f"Lead {lead_id} not found.")
        session_id = session_id or lead.source_group.session_id
        last = last_direct_message_at(lead, session_id)
        return Reciprocity(
            lead_id=lead.id,
            session_id=session_id,
            has_messaged_first=last is not None,
            last_inbound_at=last,
        )

    # --- export -------------------------------------------------------------------------

    def export(self, fmt: str, query: LeadQuery) -> ExportStream:
        """CSV or JSON of the matching leads in the query's order; Pro plan or above."""
        if fmt not in EXPORT_FORMATS:
            raise Unsupported(f"Cannot export as {fmt!r}.")
        self._require_bulk_plan("Exporting leads")
        rows = self._matching(query).order_by(*self._ordering(query.sort))[:EXPORT_MAX_ROWS]
        if fmt == "csv":
            return ExportStream(
                content_type="text/csv; charset=utf-8",
                filename="leads.csv",
                chunks=_encoded(stream_csv(rows.iterator(chunk_size=1000))),
            )
        return ExportStream(
            content_type="application/json",
            filename="leads.json",
            chunks=_encoded(stream_json(rows.iterator(chunk_size=1000))),
        )


def _encoded(parts: Iterator[str]) -> Generator[bytes, None, None]:  # closable: ByteChunks
    for part in parts:
        yield part.encode()
