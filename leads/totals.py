"""Totals of leads per (group, status), and per day too: kept by triggers, read instead of
counting rows.

The rows of `LeadTotal` and `LeadDayTotal` change in the same transaction as the leads they
count (see `leads.totals_sql`), so reading them is exact and costs the same at 10 or
10,000,000 leads. `reconcile_totals()` rebuilds them from the leads themselves: after a
restore that skipped triggers, or to prove they agree (it reports what it corrected).
"""

import datetime
import uuid

from django.db import connection, connections, transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from leads.models import Lead, LeadDayTotal, LeadTotal
from leads.pipeline import STATUSES, Status
from leads.totals_sql import (
    SQLITE_DAY_INSTALL,
    SQLITE_DAY_UNINSTALL,
    SQLITE_INSTALL,
    SQLITE_UNINSTALL,
)

# (group, status), or (group, status, UTC day) for the per-day totals.
Key = tuple[uuid.UUID, str] | tuple[uuid.UUID, str, datetime.date]


def totals_by_status(group_id: uuid.UUID | None = None) -> dict[Status, int]:
    """Leads per status (in one group, or all), from the kept totals: no row is counted."""
    totals = LeadTotal.objects.all()
    if group_id is not None:
        totals = totals.filter(group_id=group_id)
    sums = dict(
        totals.order_by().values("status").annotate(n=Sum("total")).values_list("status", "n")
    )
    return {status: int(sums.get(status.value) or 0) for status in STATUSES}


def leads_per_day(
    status: Status | None = None, group_id: uuid.UUID | None = None
) -> list[tuple[datetime.date, int]]:
    """(UTC day, leads detected that day), newest day first, from the kept per-day totals."""
    totals = LeadDayTotal.objects.filter(total__gt=0)
    if status is not None:
        totals = totals.filter(status=status)
    if group_id is not None:
        totals = totals.filter(group_id=group_id)
    return list(
        totals.order_by("-day").values("day").annotate(n=Sum("total")).values_list("day", "n")
    )


def _counted() -> dict[Key, int]:
    rows = (
        Lead.objects.order_by()
        .values("source_group_id", "lead_status")
        .annotate(n=Count("id"))
        .values_list("source_group_id", "lead_status", "n")
    )
    return {(group, status): n for group, status, n in rows}


def _counted_per_day() -> dict[Key, int]:
    rows = (
        Lead.objects.order_by()
        .annotate(day=TruncDate("lead_detected_at", tzinfo=datetime.UTC))
        .values("source_group_id", "lead_status", "day")
        .annotate(n=Count("id"))
        .values_list("source_group_id", "lead_status", "day", "n")
    )
    return {(group, status, day): n for group, status, day, n in rows}


def reconcile_totals() -> dict[Key, tuple[int, int]]:
    """Make the totals equal the counted leads; returns each corrected key's (kept, counted):
    (group, status) for the totals, (group, status, day) for the per-day totals.

    Locks the totals tables while it counts, so no writer moves a lead between the count and
    the correction (writers wait on the triggers' upserts; readers are not blocked).
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE leads_leadtotal, leads_leaddaytotal IN EXCLUSIVE MODE")
        kept: dict[Key, int] = {
            (total.group_id, total.status): total.total
            for total in LeadTotal.objects.select_for_update()
        }
        wrong = _differences(kept, _counted())
        LeadTotal.objects.exclude(total__gt=0).delete()
        for (group_id, status, *_), (_, n) in wrong.items():
            if n:
                LeadTotal.objects.update_or_create(
                    group_id=group_id, status=status, defaults={"total": n}
                )
            else:  # a key with no leads left keeps no row
                LeadTotal.objects.filter(group_id=group_id, status=status).delete()
        kept_per_day: dict[Key, int] = {
            (total.group_id, total.status, total.day): total.total
            for total in LeadDayTotal.objects.all()
        }
        wrong_per_day = _differences(kept_per_day, _counted_per_day())
        LeadDayTotal.objects.exclude(total__gt=0).delete()
        for (group_id, status, *day), (_, n) in wrong_per_day.items():
            LeadDayTotal.objects.filter(group_id=group_id, status=status, day=day[0]).delete()
            if n:
                LeadDayTotal.objects.create(group_id=group_id, status=status, day=day[0], total=n)
    return {**wrong, **wrong_per_day}


def _differences(kept: dict[Key, int], counted: dict[Key, int]) -> dict[Key, tuple[int, int]]:
    return {
        key: (kept.get(key, 0), counted.get(key, 0))
        for key in kept.keys() | counted.keys()
        if kept.get(key, 0) != counted.get(key, 0)
    }


SQLITE_TRIGGERS = (
    "leads_lead_totals_insert",
    "leads_lead_totals_delete",
    "leads_lead_totals_update",
    "leads_lead_day_totals_insert",
    "leads_lead_day_totals_delete",
    "leads_lead_day_totals_update",
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
    tables = database.introspection.table_names() if database.vendor == "sqlite" else ()
    if not {"leads_leadtotal", "leads_leaddaytotal"} <= set(tables):  # before 0007 and 0027
        return False
    with database.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        missing = not {name for (name,) in cursor.fetchall()}.issuperset(SQLITE_TRIGGERS)
        if missing:
            with transaction.atomic(using=using):
                uninstall = SQLITE_UNINSTALL + SQLITE_DAY_UNINSTALL
                for statement in uninstall + SQLITE_INSTALL + SQLITE_DAY_INSTALL:
                    cursor.execute(statement)
    reconcile_totals()
    return missing
