"""Automatic assignment: a new lead of a group with a rule goes to the next of its reps.

Optional, per monitored group, set by managers (`AutoAssignRule`). The turn is taken under a
row lock, so two leads arriving together go to two reps, and reps no longer active (or no
longer reps or managers) are skipped. It runs when the store gains a lead by any path
(detection, the chat importer, the MoltFlow sync and webhook): `post_save` of a created
`Lead`, in the same transaction. It never takes a lead from an owner.
"""

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from leads.assignments import assignable_users, timeline_entry, user_label
from leads.models import AutoAssignRule, Lead, LeadAssignment, TimelineKind


def rules_by_group() -> dict[uuid.UUID, list[int]]:
    """Each group's chosen reps (user ids), for the settings page."""
    rows = AutoAssignRule.reps.through.objects.values_list("autoassignrule_id", "user_id")
    chosen: dict[uuid.UUID, list[int]] = {}
    for group_id, user_id in rows:
        chosen.setdefault(group_id, []).append(user_id)
    return chosen


def set_rule(group_id: uuid.UUID, reps: Iterable[Any]) -> None:
    """Give the group's new leads to `reps` in turn; no reps switches it off."""
    reps = list(reps)
    with transaction.atomic():
        if not reps:
            AutoAssignRule.objects.filter(group_id=group_id).delete()
            return
        rule, _ = AutoAssignRule.objects.update_or_create(
            group_id=group_id, defaults={"updated_at": timezone.now()}
        )
        rule.reps.set(reps)


def next_owner(group_id: uuid.UUID) -> Any | None:
    """Take the group's next turn: the rep whose turn it is, or None without a rule or reps."""
    rule = AutoAssignRule.objects.select_for_update().filter(group_id=group_id).first()
    if rule is None:
        return None
    reps = list(assignable_users().filter(pk__in=rule.reps.values("pk")).order_by("pk"))
    if not reps:
        return None
    owner = reps[rule.turn % len(reps)]
    AutoAssignRule.objects.filter(pk=rule.pk).update(turn=rule.turn + 1)
    return owner


def auto_assign(lead_id: uuid.UUID, group_id: uuid.UUID) -> Any | None:
    """Give a new lead to its group's next rep (when the group has a rule); who got it."""
    if not AutoAssignRule.objects.filter(group_id=group_id).exists():
        return None  # most groups: one indexed read, no transaction of our own
    with transaction.atomic():
        owner = next_owner(group_id)
        if owner is None:
            return None
        now = timezone.now()
        _, created = LeadAssignment.objects.get_or_create(
            lead_id=lead_id, defaults={"owner": owner, "assigned_at": now}
        )
        if not created:
            return None  # someone took it already: never overwritten
        text = f"assigned to {user_label(owner)} (automatic, in turn)"
        timeline_entry(
            lead_id, TimelineKind.ASSIGNED, text, None, now, label="auto-assignment"
        ).save()
    return owner


@receiver(post_save, sender=Lead, dispatch_uid="leads-auto-assign")
def _on_lead_created(sender: type, instance: Lead, created: bool, **kwargs: Any) -> None:
    if created and not kwargs.get("raw"):
        auto_assign(instance.pk, instance.source_group_id)
