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
            if n:
                LeadTotal.objects.update_or_create(
                    group_id=group_id, status=status, defaults={"total": n}
                )
            else:  # a key with no leads left keeps no row
                LeadTotal.objects.filter(group_id=group_id, status=status).delete()
    return wrong


SQLITE_TRIGGERS = (
    "leads_lead_totals_insert",
    "leads_lead_totals_delete",
    "leads_lead_totals_update",
)


def settle_sqlite_totals(using: str = "default", **_signal: object) -> bool:
    """After every `migrate` or `flush` on SQLite: the triggers in place, the totals exact.

    Both commands send `post_migrate`, and on SQLite each can leave the totals wrong:
    - a migration that adds or alters a column of `leads_lead` rebuilds the table, and the
      triggers go with the old one: they are put back (True is returned when they were);
    - `flush` (which the test runner calls between transactional tests) empties the tables
      with one DELETE each, so the delete trigger counts the removed leads into a totals table
      that may already be empty: negative totals.
    A reconcile afterwards (one grouped count) makes them exact either way. PostgreSQL keeps
    its triggers through ALTER TABLE, and its flush is a TRUNCATE, which fires no row trigger.
    """
    database = connections[using]
    if database.vendor != "sqlite" or "leads_leadtotal" not in database.introspection.table_names():
        return False
    with database.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        missing = not {name for (name,) in cursor.fetchall()}.issuperset(SQLITE_TRIGGERS)
        if missing:
            with transaction.atomic(using=using):
                for statement in SQLITE_UNINSTALL + SQLITE_INSTALL:
                    cursor.execute(statement)
    reconcile_totals()
    return missing
