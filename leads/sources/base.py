"""`LeadSource`: the one interface the dashboard's views use to read and change leads.

Two implementations: `local` (the store, in process) and `moltflow` (the MoltFlow API v2, or
any mirror of it, over HTTP). Both return the frozen records of `leads.sources.records` and
raise only the errors of `leads.sources.errors`.
"""

import uuid
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from leads.pipeline import Status
from leads.services import Actor
from leads.sources.records import (
    AddToGroupOutcome,
    BulkOutcome,
    Capabilities,
    CustomGroupDetail,
    CustomGroupRecord,
    ExportStream,
    GroupRecord,
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


@runtime_checkable
class LeadSource(Protocol):
    """Where the dashboard's leads come from.

    Every method may raise `Unavailable` or `RateLimited` (a remote source), and `Forbidden`
    when the plan or key does not allow the operation.
    """

    name: str

    def budget(self) -> SourceBudget | None:
        """The upstream's request budget when there is one (None for the local store)."""
        ...

    def health(self) -> SourceHealth | None:
        """None while the source answers; otherwise why and since when it does not.

        While it does not, reads may answer with the last good data they had: a screen
        showing data should say it is stale when this is not None.
        """
        ...

    def capabilities(self) -> Capabilities:
        """Sorts, filters, bulk and export availability, and the plan's name."""
        ...

    def list_leads(
        self, query: LeadQuery, *, offset: int = 0, limit: int = 50, count_total: bool = True
    ) -> Page:
        """One page of leads matching `query`.

        With `count_total=False` the caller does not need `total` (the board, which has the
        counts per status already): a source that would have to count for it may leave it
        None, but `has_next` stays exact.

        Raises `Unsupported` for a sort or filter not in `capabilities()`: a source never
        applies one over a single page only and calls that the answer.
        """
        ...

    def matching_ids(self, query: LeadQuery, limit: int) -> list[uuid.UUID]:
        """The ids of the leads matching `query`, at most `limit`, in the query's order.

        For acting on every matching lead ("select all matching"): no records are built.
        """
        ...

    def count_by_status(self, query: LeadQuery | None = None) -> dict[Status, int]:
        """How many leads per status match `query` (its own `status` is ignored)."""
        ...

    def count_by_status_capped(self, query: LeadQuery, cap: int, tab_cap: int) -> StatusCounts:
        """Like `count_by_status`, but a source may stop counting past a cap.

        Exact whenever it is cheap (the local store's kept totals). Otherwise the leads
        matching the query's own status (all statuses when it has none) are counted up to
        `cap`, every other status up to `tab_cap`; what stopped is marked capped, for the
        page to show as "1000+".
        """
        ...

    def get_lead(self, lead_id: uuid.UUID) -> LeadDetail:
        """One lead in detail; `NotFound` when it does not exist."""
        ...

    def change_status(
        self,
        lead_id: uuid.UUID,
        target: Status,
        *,
        actor: Actor,
        expected_status: Status | None = None,
        reason: str = "",
    ) -> LeadDetail:
        """Move a lead to `target`; returns it as it is afterwards.

        With `expected_status`, refuses (`StaleStatus`) unless the lead is still there.
        Raises `InvalidTransition` (naming the real current status) or `NotFound`.
        """
        ...

    def bulk_change_status(
        self,
        lead_ids: Sequence[uuid.UUID],
        target: Status,
        *,
        actor: Actor,
        reason: str = "",
    ) -> BulkOutcome:
        """Move many leads, each judged on its own; reports every lead it could not move."""
        ...

    def add_to_custom_group(
        self, lead_ids: Sequence[uuid.UUID], custom_group_id: uuid.UUID
    ) -> AddToGroupOutcome:
        """Add the leads' phones to a custom group (`NotFound` for an unknown group)."""
        ...

    def list_custom_groups(self) -> tuple[CustomGroupRecord, ...]:
        """Every custom group, by name."""
        ...

    def create_custom_group(self, name: str) -> CustomGroupRecord:
        """A new, empty custom group (`Forbidden` when the plan's count is reached,
        `NameTaken` when another group has the name)."""
        ...

    def get_custom_group(self, group_id: uuid.UUID) -> CustomGroupDetail:
        """One custom group with its members (`NotFound` for an unknown group)."""
        ...

    def rename_custom_group(self, group_id: uuid.UUID, name: str) -> CustomGroupRecord:
        """Give a custom group another name (`NotFound`, `NameTaken`)."""
        ...

    def delete_custom_group(self, group_id: uuid.UUID) -> None:
        """Delete a custom group and its member list; the leads stay (`NotFound`)."""
        ...

    def remove_custom_group_member(self, group_id: uuid.UUID, phone: str) -> None:
        """Take one phone off a custom group (`NotFound` for the group or the member)."""
        ...

    def leads_of_contacts(self, phones: Sequence[str]) -> dict[str, tuple[LeadRecord, ...]]:
        """Each phone's leads, newest first (a phone without leads is left out).

        A remote source looks each phone up on its own, so it takes at most
        `capabilities().max_ids` phones at once (`Unsupported` past that).
        """
        ...

    def list_groups(self) -> tuple[GroupRecord, ...]:
        """Every monitored group, by name."""
        ...

    def list_sessions(self) -> tuple[SessionRecord, ...]:
        """Every connected WhatsApp number (session), oldest first."""
        ...

    def reciprocity(self, lead_id: uuid.UUID, session_id: uuid.UUID | None = None) -> Reciprocity:
        """Whether the contact wrote to the session directly (default: the lead's session)."""
        ...

    def export(self, fmt: str, query: LeadQuery) -> ExportStream:
        """The matching leads as a CSV or JSON download (at most 10,000 rows)."""
        ...
