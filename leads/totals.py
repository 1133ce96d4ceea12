"""Totals of leads per (group, status): kept by triggers, read instead of counting rows.

The rows of `LeadTotal` change in the same transaction as the leads they count (see
`leads.totals_sql`), so reading them is exact and costs the same at 10 or 10,000,000 leads.
`reconcile_totals()` rebuilds them from the leads themselves: after a restore that skipped
triggers, or to prove they agree (it reports what it corrected).
"""

import uuid

from django.db import connection, connections, transaction
from django.db.models import Count, Sum

from leads.models import Lead, LeadTotal
from leads.pipeline import STATUSES, Status
from leads.totals_sql import SQLITE_INSTALL, SQLITE_UNINSTALL

Key = tuple[uuid.UUID, str]


def totals_by_status(group_id: uuid.UUID | None = None) -> dict[Status, int]:
    """Leads per status (in one group, or all), from the kept totals: no row is counted."""
    totals = LeadTotal.objects.all()
    if group_id is not None:
        totals = totals.filter(group_id=group_id)
    sums = dict(
        totals.order_by().values("status").annotate(n=Sum("total")).values_list("status", "n")
    )
    return {status: int(sums.get(status.value) or 0) for status in STATUSES}


def _counted() -> dict[Key, int]:
    rows = (
        Lead.objects.order_by()
        .values("source_group_id", "lead_status")
        .annotate(n=Count("id"))
        .values_list("source_group_id", "lead_status", "n")
    )
    return {(group, status): n for group, status, n in rows}


def reconcile_totals() -> dict[Key, tuple[int, int]]:
    """Make the totals equal the counted leads; returns each corrected key's (kept, counted).

    Locks the totals table while it counts, so no writer moves a lead between the count and
    the correction (writers wait on the triggers' upserts; readers are not blocked).
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE leads_leadtotal IN EXCLUSIVE MODE")
        kept = {
            (total.group_id, total.status): total.total
            for total in LeadTotal.objects.select_for_update()
        }
        counted = _counted()
        wrong = {
            key: (kept.get(key, 0), counted.get(key, 0))
            for key in kept.keys() | counted.keys()
            if kept.get(key, 0) != counted.get(key, 0)
        }
        LeadTotal.objects.exclude(total__gt=0).delete()
        for (group_id, status), (_, n) in wrong.items():
            LeadTotal.objects.update_or_create(
                group_id=group_id, status=status, defaults={"total": n}
            )
    return wrong


SQLITE_TRIGGERS = (
    "leads_lead_totals_insert",
    "leads_lead_totals_delete",
    "leads_lead_totals_update",
)


def restore_sqlite_triggers(using: str = "default", **_signal: object) -> bool:
    """Put back the SQLite triggers a table rebuild dropped; True when it had to.

    SQLite migrations that add or alter a column of `leads_lead` rebuild the table, and the
    triggers go with the old one. Run after every `migrate` (the `post_migrate` signal): when
    any trigger is missing it installs them all and reconciles the totals, so leads written
    while they were gone are counted again. PostgreSQL keeps its triggers through ALTER TABLE.
    """
    database = connections[using]
    if database.vendor != "sqlite" or "leads_leadtotal" not in database.introspection.table_names():
        return False
    with database.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {name for (name,) in cursor.fetchall()}
        if present.issuperset(SQLITE_TRIGGERS):
            return False
        with transaction.atomic(using=using):
            for statement in SQLITE_UNINSTALL + SQLITE_INSTALL:
                cursor.execute(statement)
    reconcile_totals()
    return True
