"""Mirror a MoltFlow account's leads into the local store: the pull sync and the webhook.

Upserts are keyed by the upstream lead id (the local lead keeps the same UUID) and write
only what differs, so running the sync again changes nothing: no row, no `updated_at`, no
history. A status that differs upstream is applied through `services.lead_change_status`
(history, live update) when the pipeline has that step; when it has not (a final status, a
forbidden move) the lead is left as it is and reported as a `SyncConflict` for a person.
Groups the store does not know are created under a session named "moltflow", with the
upstream group's id.
"""

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Literal, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from leads import services
from leads.events import announce_lead_created
from leads.models import (
    ActorKind,
    Lead,
    MonitoredGroup,
    Session,
    SyncConflict,
    build_search_text,
)
from leads.monitoring import check_room_for_a_group
from leads.phones import jid_from_phone
from leads.pipeline import InvalidTransition, refusal_reason
from leads.sources.errors import Forbidden, NotFound, RateLimited
from leads.sources.moltflow import UPSTREAM_PAGE_MAX, MoltflowSource
from leads.sources.records import GroupRecord, LeadRecord

logger = logging.getLogger(__name__)

MIRROR_SESSION_NAME = "moltflow"
Outcome = Literal["created", "updated", "unchanged", "skipped"]
T = TypeVar("T")


@dataclass(frozen=True)
class Conflict:
    """A status the sync did not copy: the lead is `local` here and `upstream` on MoltFlow."""

    lead_id: uuid.UUID
    contact_name: str | None
    local: str
    upstream: str

    def __str__(self) -> str:
        who = self.contact_name or "unknown contact"
        return (
            f"conflict: lead {self.lead_id} ({who}) is {self.local} here, {self.upstream} on "
            f"MoltFlow: {refusal_reason(self.local, self.upstream)}; left for a person"
        )


@dataclass
class SyncSummary:
    pages: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    conflicts: list[Conflict] = field(default_factory=list)

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def __str__(self) -> str:
        text = (
            f"pages: {self.pages}, created: {self.created}, updated: {self.updated}, "
            f"unchanged: {self.unchanged}"
        )
        text += f", skipped: {self.skipped}" if self.skipped else ""
        return text + (f", conflicts: {len(self.conflicts)}" if self.conflicts else "")


class LeadMirror:
    """Upserts upstream lead records into the store, one at a time.

    `strict` (the webhook): a status changes only along the pipeline and never over one a
    person set (`services.lead_webhook_status`; `status_kept` then says why not), and a new
    group must fit the plan (`monitoring.PlanLimitReached`).
    """

    def __init__(
        self,
        actor: services.Actor,
        *,
        groups: dict[uuid.UUID, GroupRecord] | None = None,
        strict: bool = False,
    ) -> None:
        self.actor = actor
        self.strict = strict
        self.status_kept = ""
        # The sync's conflicts this run, and the leads that had one before it (to clear).
        self.conflicts: list[Conflict] = []
        self._open_conflicts: set[uuid.UUID] | None = None
        # What the upstream says about its groups (wa id, mode, keywords), when we could read it.
        self.upstream_groups = groups or {}
        self._groups: dict[uuid.UUID, MonitoredGroup] = {}
        self._session: Session | None = None

    def _mirror_session(self) -> Session:
        if self._session is None:
            self._session, _ = Session.objects.get_or_create(name=MIRROR_SESSION_NAME)
        return self._session

    def _group(self, record: LeadRecord) -> MonitoredGroup:
        ref = record.source_group
        group = self._groups.get(ref.id) or MonitoredGroup.objects.filter(pk=ref.id).first()
        if group is None:
            group = self._create_group(record)
        elif group.name != ref.name[:200]:
            # The upstream renamed the group; a group's name is its upstream's.
            MonitoredGroup.objects.filter(pk=group.pk).update(
                name=ref.name[:200], updated_at=timezone.now()
            )
            group.name = ref.name[:200]
        self._groups[ref.id] = group
        return group

    def _create_group(self, record: LeadRecord) -> MonitoredGroup:
        ref = record.source_group
        known = self.upstream_groups.get(ref.id)
        session = self._mirror_session()
        if self.strict:
            check_room_for_a_group()
        wa_group_id = (known.wa_group_id if known else None) or ref.wa_group_id
        taken = (
            wa_group_id
            and MonitoredGroup.objects.filter(session=session, wa_group_id=wa_group_id).exists()
        )
        if not wa_group_id or taken:
            # Unknown (no groups:read scope) or clashing: a stable stand-in, unique by id.
            wa_group_id = f"moltflow-{ref.id}@g.us"
        return MonitoredGroup.objects.create(
            id=ref.id,
            session=session,
            wa_group_id=wa_group_id,
            name=ref.name[:200],
            monitor_mode=(known.monitor_mode if known else record.monitor_mode)[:20],
            monitor_keywords=list(known.monitor_keywords) if known else [],
            is_active=known.is_active if known else True,
        )

    def upsert(self, record: LeadRecord) -> Outcome:
        """Create or update the lead `record` describes; says which (or "unchanged")."""
        with transaction.atomic():
            group = self._group(record)
            lead = Lead.objects.filter(pk=record.id).first()
            if lead is None:
                return self._create(record, group)
            return self._update(lead, record, group)

    def _create(self, record: LeadRecord, group: MonitoredGroup) -> Outcome:
        phone = record.contact_phone
        contact_jid = jid_from_phone(phone) if phone else f"{record.id.hex}@lid"
        if Lead.objects.filter(source_group=group, contact_jid=contact_jid).exists():
            # The store found this contact in this group on its own (local detection):
            # two ids for one lead. Keep the local one; an operator can reconcile.
            logger.warning("MoltFlow lead %s duplicates a local lead; skipped", record.id)
            return "skipped"
        now = timezone.now()
        try:
            with transaction.atomic():
                Lead.objects.create(
                    id=record.id,
                    source_group=group,
                    contact_jid=contact_jid,
                    lead_status=record.status,
                    created_at=now,
                    updated_at=now,
                    **_mirrored_fields(record),
                )
        except IntegrityError:  # a concurrent webhook created it first
            return "unchanged"
        lead_id = record.id
        transaction.on_commit(lambda: announce_lead_created(lead_id))
        return "created"

    def _update(self, lead: Lead, record: LeadRecord, group: MonitoredGroup) -> Outcome:
        wanted = {**_mirrored_fields(record), "source_group_id": group.id}
        changed = {
            name: value
            for name, value in wanted.items()
            if not _same(name, getattr(lead, name), value)
        }
        if changed:
            Lead.objects.filter(pk=lead.pk).update(**changed, updated_at=timezone.now())
        # A move goes through lead_change_status, which tells the live screens itself.
        moved = self._follow_status(lead.pk, record.status)
        return "updated" if changed or moved else "unchanged"

    def _follow_status(self, lead_id: uuid.UUID, target: str) -> bool:
        if not self.strict:
            return self._sync_status(lead_id, target)
        try:
            return services.lead_webhook_status(
                lead_id, target, self.actor, reason="mirrored from MoltFlow"
            )
        except InvalidTransition as refused:  # SetByPerson included
            self.status_kept = str(refused)
            return False

    def _sync_status(self, lead_id: uuid.UUID, target: str) -> bool:
        """Follow MoltFlow's status along the pipeline; a step it lacks is a conflict."""
        lead = Lead.objects.filter(pk=lead_id).values("lead_status", "contact_name").first()
        if lead is None or lead["lead_status"] == target:
            self._settled(lead_id)
            return False
        current = lead["lead_status"]
        try:
            services.lead_change_status(
                lead_id,
                target,
                self.actor,
                expected_status=current,
                reason="mirrored from MoltFlow",
            )
        except InvalidTransition as refused:  # no such step, or moved here meanwhile
            self._conflict(Conflict(lead_id, lead["contact_name"], refused.current, target))
            return False
        self._settled(lead_id)
        return True

    def _conflict(self, conflict: Conflict) -> None:
        now = timezone.now()
        SyncConflict.objects.update_or_create(
            lead_id=conflict.lead_id,
            defaults={
                "local_status": conflict.local,
                "upstream_status": conflict.upstream,
                "last_seen_at": now,
            },
            create_defaults={
                "local_status": conflict.local,
                "upstream_status": conflict.upstream,
                "first_seen_at": now,
                "last_seen_at": now,
            },
        )
        self.conflicts.append(conflict)
        logger.warning("MoltFlow sync %s", conflict)

    def _settled(self, lead_id: uuid.UUID) -> None:
        """The lead agrees with MoltFlow: a conflict it had is over (one query per run)."""
        if self._open_conflicts is None:
            self._open_conflicts = set(SyncConflict.objects.values_list("lead_id", flat=True))
        if lead_id in self._open_conflicts:
            SyncConflict.objects.filter(lead_id=lead_id).delete()
            self._open_conflicts.discard(lead_id)


def _same(name: str, ours: object, theirs: object) -> bool:
    if (
        name == "lead_detected_at"
        and isinstance(ours, datetime)
        and isinstance(theirs, datetime)
        and theirs.microsecond % 1000 == 0
    ):
        # The API writes milliseconds; a lead it got from here kept its microseconds.
        return ours.replace(microsecond=ours.microsecond // 1000 * 1000) == theirs
    return ours == theirs


def _fit(value: str | None, size: int) -> str | None:
    return value[:size] if value is not None else None


def _mirrored_fields(record: LeadRecord) -> dict[str, object]:
    """The lead's columns that the upstream owns (status apart: that goes via services)."""
    # Cut to the columns' sizes: an over-long upstream value must not fail the whole page
    # (or make a webhook's retries fail forever).
    # Only the detailed lead carries message_count; a list row leaves ours as it is.
    count = {} if record.message_count is None else {"message_count": record.message_count}
    return {
        **count,
        "contact_phone": _fit(record.contact_phone, 20),
        "contact_name": _fit(record.contact_name, 200),
        "lead_score": record.score,
        "lead_detected_at": record.detected_at,
        "matched_keyword": _fit(record.matched_keyword, 200),
        "message_preview": record.message_preview[:500],
        "monitor_mode": record.monitor_mode[:20],
        "search_text": build_search_text(
            record.contact_name, record.contact_phone, record.matched_keyword
        ),
    }


def sync_actor() -> services.Actor:
    return services.Actor(kind=ActorKind.SYNC, label="MoltFlow sync")


def sync_moltflow(
    source: MoltflowSource,
    *,
    page_size: int = UPSTREAM_PAGE_MAX,
    sleep: Callable[[float], None] = time.sleep,
    max_rate_waits: int = 30,
    on_page: Callable[[int, SyncSummary], None] | None = None,
    details: bool = True,
) -> SyncSummary:
    """Pull every lead of the account, page by page, and upsert each into the store.

    With `details` (the default) each lead is read whole (`GET /leads/{id}`), since only the
    detail carries `message_count`: one request per lead, so a big account on a small plan
    takes its time. When the plan's request budget is spent, waits as long as the upstream
    says and goes on; it gives up after `max_rate_waits` waits in a row.
    """
    waits = 0

    def patiently(call: Callable[[], T]) -> T:
        nonlocal waits
        while True:
            try:
                answer = call()
            except RateLimited as limited:
                waits += 1
                if waits > max_rate_waits:
                    raise
                sleep(limited.retry_after if limited.retry_after is not None else 5.0)
                continue
            waits = 0
            return answer

    try:
        groups = {group.id: group for group in source.list_groups()}
    except Forbidden as refused:
        # A key without groups:read still syncs leads; groups get stand-in WhatsApp ids.
        logger.warning("Cannot read MoltFlow groups (%s); using stand-in group ids", refused)
        groups = {}
    mirror = LeadMirror(sync_actor(), groups=groups)
    summary = SyncSummary()
    offset = 0
    while True:
        page = patiently(partial(source.fresh_page, offset=offset, limit=page_size))
        summary.pages += 1
        for row in page.rows:
            record: LeadRecord = row
            if details:
                try:
                    record = patiently(partial(source.fresh_lead, row.id))
                except NotFound:  # deleted upstream since the page was read
                    summary.count("skipped")
                    continue
            summary.count(mirror.upsert(record))
        summary.conflicts = mirror.conflicts
        if on_page is not None:
            on_page(summary.pages, summary)
        offset += len(page.rows)
        if not page.has_next:
            return summary
