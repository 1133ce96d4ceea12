"""The wall's per-person figures: who owns what, who got back to whom, and how fast.

Read from our own data beside the leads (owners, follow-ups) and the store's status history,
in a constant number of queries whatever the team's size:

- **owned**: leads assigned to the person;
- **contacted today**: leads they moved `new → contacted` since local midnight;
- **overdue**: their leads whose follow-up is due before now;
- **first contact**: the median minutes from a lead's detection to its move to `contacted`,
  over the first contacts they made since Monday (None when they made none).

With `LEADS_SOURCE=moltflow` the history holds only changes mirrored here (by the sync or a
webhook), as on `/activity/`.
"""

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from leads.assignments import assignable_users, user_label
from leads.models import LeadAssignment, LeadFollowUp, LeadStatusChange
from leads.pipeline import Status


@dataclass(frozen=True)
class PersonFigures:
    """One teammate's line on the wall."""

    name: str
    owned: int
    contacted_today: int
    overdue: int
    first_contact_minutes: int | None  # median this week; None without any first contact


def _day_and_week_start(now: datetime) -> tuple[datetime, datetime]:
    local = timezone.localtime(now)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight, midnight - timedelta(days=midnight.weekday())


def _counts_by_owner(rows: object) -> dict[int, int]:
    return dict(rows.values("owner_id").annotate(n=Count("lead_id")).values_list("owner_id", "n"))  # type: ignore[attr-defined]


def team_figures(now: datetime | None = None) -> tuple[PersonFigures, ...]:
    """Every active rep and manager's figures, busiest first (then by name)."""
    now = now or timezone.now()
    midnight, week_start = _day_and_week_start(now)
    owned = _counts_by_owner(LeadAssignment.objects.order_by())
    overdue_follow_up = LeadFollowUp.objects.filter(lead_id=OuterRef("lead_id"), due_at__lt=now)
    overdue = _counts_by_owner(LeadAssignment.objects.order_by().filter(Exists(overdue_follow_up)))
    first_contacts = LeadStatusChange.objects.filter(
        from_status=Status.NEW,
        to_status=Status.CONTACTED,
        changed_at__gte=week_start,
        user_id__isnull=False,
    ).values_list("user_id", "changed_at", "lead__lead_detected_at")
    today: dict[int, int] = {}
    minutes: dict[int, list[float]] = {}
    for user_id, changed_at, detected_at in first_contacts:
        if changed_at >= midnight:
            today[user_id] = today.get(user_id, 0) + 1
        minutes.setdefault(user_id, []).append((changed_at - detected_at).total_seconds() / 60)
    people = [
        PersonFigures(
            name=user_label(user),
            owned=owned.get(user.pk, 0),
            contacted_today=today.get(user.pk, 0),
            overdue=overdue.get(user.pk, 0),
            first_contact_minutes=(
                round(statistics.median(minutes[user.pk])) if user.pk in minutes else None
            ),
        )
        for user in assignable_users()
    ]
    people.sort(key=lambda p: (-(p.owned + p.contacted_today), p.name.casefold()))
    return tuple(people)
