"""The only code that writes lead status.

A single change is a compare-and-set `UPDATE … WHERE lead_status = <seen>` plus one history
row, in one transaction. A bulk change is a constant number of statements whatever the number
of leads: lock and read the rows, one UPDATE, one INSERT of history.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from leads.detection import GroupMessageIn, lead_from_message
from leads.events import announce_status_changed
from leads.models import (
    ActorKind,
    CustomGroup,
    CustomGroupMember,
    Lead,
    LeadStatusChange,
    SecondLookDecision,
    SetAsideMessage,
)
from leads.pipeline import InvalidTransition, check_transition, is_status, sources_of


class LeadNotFound(Exception):
    def __init__(self, lead_id: object) -> None:
        self.lead_id = lead_id
        super().__init__(f"Lead {lead_id} not found")


class StaleStatus(InvalidTransition):
    """The lead is no longer in the status the caller saw; `last_change` says who moved it."""

    def __init__(
        self, current: str, target: str, expected: str, last_change: LeadStatusChange | None
    ) -> None:
        super().__init__(current, target)
        self.expected = expected
        self.last_change = last_change


class SetByPerson(InvalidTransition):
    """A person (a user or an API key) set the lead's status; a webhook may not overwrite it."""

    def __init__(self, current: str, target: str, last_change: LeadStatusChange) -> None:
        super().__init__(current, target)
        self.last_change = last_change
        self.args = (f"Status {current} was set by a person; not moved to {target}",)


# Actor kinds that are a person's decision (a user, or a client with a person's API key).
PEOPLE = frozenset({ActorKind.USER, ActorKind.API_KEY})


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a user, an API key, a webhook, an import, a sync or the system."""

    kind: str
    user_id: int | None = None
    api_key_id: uuid.UUID | None = None
    label: str = ""

    @classmethod
    def system(cls, label: str = "") -> "Actor":
        return cls(kind=ActorKind.SYSTEM, label=label)

    def history_row(
        self, lead_id: uuid.UUID, from_status: str, to_status: str, reason: str, now: datetime
    ) -> LeadStatusChange:
        return LeadStatusChange(
            lead_id=lead_id,
            from_status=from_status,
            to_status=to_status,
            changed_at=now,
            actor_kind=self.kind,
            user_id=self.user_id,
            api_key_id=self.api_key_id,
            actor_label=self.label[:200],
            reason=reason[:500],
        )


# How often a compare-and-set is retried when another writer moved the lead in between.
_CAS_ATTEMPTS = 5


def lead_change_status(
    lead_id: uuid.UUID | str,
    target: str,
    actor: Actor,
    *,
    expected_status: str | None = None,
    reason: str = "",
) -> Lead:
    """Move one lead to `target`, atomically, writing one history row.

    With `expected_status`, the move is refused (`StaleStatus`) unless the lead is still in
    that status: a screen that is out of date cannot move a lead it has not seen move.
    Raises `LeadNotFound` or `InvalidTransition` (which names the status the lead really has).
    """
    if not is_status(target):
        raise ValueError(f"Unknown status: {target!r}")
    for _ in range(_CAS_ATTEMPTS):
        with transaction.atomic():
            current = Lead.objects.filter(pk=lead_id).values_list("lead_status", flat=True).first()
            if current is None:
                raise LeadNotFound(lead_id)
            if expected_status is not None and current != expected_status:
                raise StaleStatus(current, target, expected_status, _last_change(lead_id))
            check_transition(current, target)
            now = timezone.now()
            moved = Lead.objects.filter(pk=lead_id, lead_status=current).update(
                lead_status=target, updated_at=now
            )
            if moved:
                actor.history_row(uuid.UUID(str(lead_id)), current, target, reason, now).save()
                # In the same transaction: screens hear of the move exactly when it commits.
                announce_status_changed(uuid.UUID(str(lead_id)))
                return Lead.objects.select_related("source_group").get(pk=lead_id)
        # Another writer won between our read and our UPDATE: judge again from its result.
    assert current is not None  # only a lost compare-and-set, on a lead that exists, gets here
    raise InvalidTransition(current, target)


def _last_change(lead_id: uuid.UUID | str) -> LeadStatusChange | None:
    return (
        LeadStatusChange.objects.filter(lead_id=lead_id)
        .select_related("user", "api_key")
        .order_by("-changed_at", "-id")
        .first()
    )


@dataclass(frozen=True)
class BulkFailure:
    lead_id: str
    detail: str
    current_status: str | None = None


@dataclass(frozen=True)
class BulkResult:
    updated: list[str] = field(default_factory=list)
    failed: list[BulkFailure] = field(default_factory=list)


def unique_ids(lead_ids: Iterable[uuid.UUID | str]) -> list[str]:
    """Ids as strings, duplicates dropped, first occurrence kept."""
    return list(dict.fromkeys(str(lead_id) for lead_id in lead_ids))


def lead_bulk_change_status(
    lead_ids: Sequence[uuid.UUID | str], target: str, actor: Actor, *, reason: str = ""
) -> BulkResult:
    """Move many leads to `target`; every lead is judged on its own.

    Runs a constant number of SQL statements whatever the number of leads (on PostgreSQL one
    for the leads and their history, one for the live event), and reports each id it did not
    move (unknown, or not allowed from its current status) with the reason.
    """
    if not is_status(target):
        raise ValueError(f"Unknown status: {target!r}")
    ids = unique_ids(lead_ids)
    sources = [status.value for status in sources_of(target)]
    with transaction.atomic():
        move = _move_in_one_statement if connection.vendor == "postgresql" else _move_in_three
        current_by_id, moved = move(ids, sources, target, actor, reason, timezone.now())
        if moved:
            # One event for the whole batch: screens re-read their regions, not each lead.
            announce_status_changed(None)
    failed: list[BulkFailure] = []
    for lead_id in ids:
        current = current_by_id.get(lead_id)
        if current is None:
            failed.append(BulkFailure(lead_id, "Lead not found"))
        elif lead_id not in moved:
            failed.append(BulkFailure(lead_id, str(InvalidTransition(current, target)), current))
    return BulkResult(updated=[lead_id for lead_id in ids if lead_id in moved], failed=failed)


# Lock the leads, move the ones whose status may go to the target, write their history from
# what the UPDATE returned (in the order the ids were given), and answer every lead's status
# before the move: one statement.
# The time is the clock's once the lead is locked (not the request's start): a single move
# that committed while this one waited for the lock stays before it in the history.
# A move of several leads is one entry on the activity page ("Dana moved 1,246 leads to
# contacted"): its rows share `batch`, the first carries the count, the others 0.
_BULK_MOVE_SQL = """
    WITH locked AS (
        SELECT lead.id, lead.lead_status, given.position
        FROM leads_lead AS lead
        JOIN unnest(%(ids)s::uuid[]) WITH ORDINALITY AS given(id, position) ON given.id = lead.id
        FOR UPDATE OF lead
    ), moved AS (
        UPDATE leads_lead AS lead SET lead_status = %(target)s, updated_at = clock_timestamp()
        FROM locked WHERE lead.id = locked.id AND locked.lead_status = ANY(%(sources)s)
        RETURNING lead.id, locked.lead_status AS from_status, lead.updated_at AS changed_at,
            locked.position
    ), history AS (
        INSERT INTO leads_leadstatuschange (lead_id, from_status, to_status, changed_at,
            actor_kind, user_id, api_key_id, actor_label, reason, batch, batch_size)
        SELECT id, from_status, %(target)s, changed_at,
            %(actor_kind)s, %(user_id)s, %(api_key_id)s, %(actor_label)s, %(reason)s,
            CASE WHEN count(*) OVER () > 1 THEN %(batch)s::uuid END,
            CASE WHEN row_number() OVER (ORDER BY position) = 1 THEN count(*) OVER () ELSE 0 END
        FROM moved ORDER BY position
    )
    SELECT locked.id, locked.lead_status, moved.id IS NOT NULL
    FROM locked LEFT JOIN moved ON moved.id = locked.id
"""

Moves = tuple[dict[str, str], set[str]]


def _move_in_one_statement(
    ids: list[str], sources: list[str], target: str, actor: Actor, reason: str, now: datetime
) -> Moves:
    """PostgreSQL: the leads' statuses before the move, and the ids moved, in one statement
    (row locks keep the statuses judged by until the transaction commits)."""
    history = actor.history_row(uuid.UUID(int=0), "", target, reason, now)
    with connection.cursor() as cursor:
        cursor.execute(
            _BULK_MOVE_SQL,
            {
                "ids": ids,
                "sources": sources,
                "target": target,
                "actor_kind": history.actor_kind,
                "user_id": history.user_id,
                "api_key_id": history.api_key_id,
                "actor_label": history.actor_label,
                "reason": history.reason,
                "batch": uuid.uuid4(),
            },
        )
        rows = cursor.fetchall()
    return (
        {str(lead_id): status for lead_id, status, _ in rows},
        {str(lead_id) for lead_id, _, moved in rows if moved},
    )


def _move_in_three(
    ids: list[str], sources: list[str], target: str, actor: Actor, reason: str, now: datetime
) -> Moves:
    """SQLite (one writer at a time): read the statuses, one UPDATE, one INSERT of history."""
    rows = Lead.objects.filter(pk__in=ids).values_list("id", "lead_status")
    current_by_id = {str(lead_id): status for lead_id, status in rows}
    # In the order given (the table's), as the history lists them.
    movable = {
        lead_id: current_by_id[lead_id] for lead_id in ids if current_by_id.get(lead_id) in sources
    }
    if movable:
        Lead.objects.filter(pk__in=list(movable)).update(lead_status=target, updated_at=now)
        history = [
            actor.history_row(uuid.UUID(lead_id), current, target, reason, now)
            for lead_id, current in movable.items()
        ]
        if len(history) > 1:
            batch = uuid.uuid4()
            for row in history:
                row.batch, row.batch_size = batch, 0
            history[0].batch_size = len(history)
        LeadStatusChange.objects.bulk_create(history)
    return current_by_id, set(movable)


@dataclass(frozen=True)
class AddToGroupResult:
    added: int
    skipped: int


def custom_group_add_leads(
    group: CustomGroup, lead_ids: Sequence[uuid.UUID | str]
) -> AddToGroupResult:
    """Add the leads' phones to a custom group; phones already there (or none) are skipped."""
    ids = unique_ids(lead_ids)
    leads = Lead.objects.filter(pk__in=ids).values_list("contact_phone", "contact_name")
    with transaction.atomic():
        existing = set(group.members.values_list("phone", flat=True))
        new_members: dict[str, str] = {}
        for phone, name in leads:
            if phone and phone not in existing and phone not in new_members:
                new_members[phone] = name or ""
        CustomGroupMember.objects.bulk_create(
            [CustomGroupMember(group=group, phone=p, name=n) for p, n in new_members.items()],
            ignore_conflicts=True,
        )
    return AddToGroupResult(added=len(new_members), skipped=len(ids) - len(new_members))


def lead_webhook_status(
    lead_id: uuid.UUID | str, target: str, actor: Actor, *, reason: str = ""
) -> bool:
    """Apply the status a signed webhook reports, within the rules a person's move obeys.

    The move must be a pipeline step (else `InvalidTransition`), and a status a person set
    stands: when the lead's latest change was by a user or an API key, `SetByPerson`.
    Returns False, writing nothing, when the lead already has `target`.
    """
    with transaction.atomic():
        current = (
            Lead.objects.select_for_update()
            .filter(pk=lead_id)
            .values_list("lead_status", flat=True)
            .first()
        )
        if current is None:
            raise LeadNotFound(lead_id)
        if current == target:
            return False
        last = _last_change(lead_id)
        if last is not None and last.actor_kind in PEOPLE:
            raise SetByPerson(current, target, last)
        lead_change_status(lead_id, target, actor, expected_status=current, reason=reason)
    return True


# --- Second look at messages intent mode set aside ----------------------------------------

# The score and reason a lead gets when a manager, not the detector, judged it a buyer's.
SECOND_LOOK_SCORE = 50
SECOND_LOOK_REASON = "judged a buyer on second look"


class AlreadyDecided(Exception):
    """Someone else decided this set-aside message first; `decision` is what they chose."""

    def __init__(self, item_id: int, decision: str) -> None:
        self.item_id = item_id
        self.decision = decision
        super().__init__(f"Set-aside message {item_id} was already decided: {decision}")


def set_aside_decide(item_id: int, decision: str, user: Any) -> Lead | None:
    """Record a manager's decision on a set-aside message, once (compare-and-set).

    `lead` makes the message a lead (or counts it on the contact's lead in that group) and
    returns it; `not_lead` agrees with the detector. Either way the row stays, labelled, as an
    example for the detector. Raises `SetAsideMessage.DoesNotExist` or `AlreadyDecided`.
    """
    if decision not in (SecondLookDecision.LEAD, SecondLookDecision.NOT_LEAD):
        raise ValueError(f"Unknown decision: {decision!r}")
    with transaction.atomic():
        item = SetAsideMessage.objects.select_related("message__group").get(pk=item_id)
        decided = SetAsideMessage.objects.filter(
            pk=item_id, decision=SecondLookDecision.PENDING
        ).update(decision=decision, decided_by=user, decided_at=timezone.now())
        if not decided:
            item.refresh_from_db(fields=["decision"])
            raise AlreadyDecided(item_id, item.decision)
        if decision == SecondLookDecision.NOT_LEAD:
            return None
        stored = item.message
        lead_from_message(
            stored.group,
            GroupMessageIn(
                wa_message_id=stored.wa_message_id,
                sender_jid=stored.sender_jid,
                sender_phone=stored.sender_phone,
                sender_name=stored.sender_name,
                body=stored.body,
                sent_at=stored.sent_at,
            ),
            item.matched_keyword,
            score=SECOND_LOOK_SCORE,
            reasons=(SECOND_LOOK_REASON, f"mentions “{item.matched_keyword}”"),
        )
        lead = Lead.objects.get(source_group=stored.group, contact_jid=stored.sender_jid)
        SetAsideMessage.objects.filter(pk=item_id).update(lead=lead)
        return lead
