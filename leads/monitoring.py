"""Which groups are monitored: the writes behind the groups page and the seen-groups record."""

import logging
import re
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from leads.detection import clean_keywords
from leads.models import Account, MonitoredGroup, SeenGroup, Session

logger = logging.getLogger(__name__)

GROUP_JID = re.compile(r"^\d[\d-]*@g\.us$")
# Groups offered per session: a session's own groups fit, a flood of made-up ones does not.
MAX_SEEN_GROUPS_PER_SESSION = 500


class PlanLimitReached(Exception):
    """One more monitored group than the account's plan allows (the message says so)."""


class AlreadyMonitored(Exception):
    def __init__(self, group: MonitoredGroup) -> None:
        self.group = group
        super().__init__(
            f"{group.wa_group_id} is already monitored on that session ({group.name})."
        )


def start_monitoring(
    session: Session,
    wa_group_id: str,
    name: str,
    mode: str,
    keywords: list[str],
    *,
    reactivate: bool = False,
    is_active: bool = True,
) -> MonitoredGroup:
    """Monitor a group on a session, within the plan's limit of monitored groups.

    A group already on that session raises `AlreadyMonitored`, unless `reactivate` asks to
    switch a paused one back on (which needs no room: the plan counts every group row).
    """
    with transaction.atomic():
        existing = MonitoredGroup.objects.filter(session=session, wa_group_id=wa_group_id).first()
        if existing is not None:
            if reactivate and not existing.is_active:
                existing.is_active = True
                existing.save(update_fields=["is_active", "updated_at"])
                return existing
            raise AlreadyMonitored(existing)
        check_room_for_a_group()
        return MonitoredGroup.objects.create(
            session=session,
            wa_group_id=wa_group_id,
            name=name,
            monitor_mode=mode,
            monitor_keywords=clean_keywords(keywords),
            is_active=is_active,
        )


def check_room_for_a_group() -> None:
    """Raise `PlanLimitReached` unless the plan allows one more monitored group.

    Call it inside the transaction that creates the group: it locks the account row, so
    concurrent additions (pages, API, webhooks) count one after the other.
    """
    account = Account.objects.select_for_update().get(pk=Account.current().pk)
    existing = MonitoredGroup.objects.count()
    if refusal := account.room_refusal("groups", existing, "monitored groups"):
        raise PlanLimitReached(refusal)


def update_monitoring(
    group: MonitoredGroup, *, mode: str, keywords: list[str], is_active: bool
) -> MonitoredGroup:
    """Change how a group is monitored: its mode, its keywords, paused or not."""
    group.monitor_mode = mode
    group.monitor_keywords = clean_keywords(keywords)
    group.is_active = is_active
    group.save(update_fields=["monitor_mode", "monitor_keywords", "is_active", "updated_at"])
    return group


def record_seen_group(session: Session, wa_group_id: str, seen_at: datetime | None = None) -> None:
    """Note that a session saw a message in a group it does not monitor.

    At most `MAX_SEEN_GROUPS_PER_SESSION` groups are kept per session; past that, groups
    already seen are still counted and new ones are not recorded.
    """
    seen_at = seen_at or timezone.now()
    seen = SeenGroup.objects.filter(session=session, wa_group_id=wa_group_id)
    if seen.update(last_seen_at=seen_at, message_count=F("message_count") + 1):
        return
    if SeenGroup.objects.filter(session=session).count() >= MAX_SEEN_GROUPS_PER_SESSION:
        logger.warning(
            "Session %s has %d seen groups; %s not recorded",
            session.name,
            MAX_SEEN_GROUPS_PER_SESSION,
            wa_group_id,
        )
        return
    try:
        with transaction.atomic():
            SeenGroup.objects.create(
                session=session,
                wa_group_id=wa_group_id,
                first_seen_at=seen_at,
                last_seen_at=seen_at,
                message_count=1,
            )
    except IntegrityError:
        # A concurrent delivery recorded it first; count this message on its row.
        if not seen.update(last_seen_at=seen_at, message_count=F("message_count") + 1):
            raise


def seen_groups_not_monitored() -> QuerySet[SeenGroup]:
    """Groups seen on a session that has no monitored group (active or paused) for them."""
    monitored = MonitoredGroup.objects.filter(
        session=OuterRef("session"), wa_group_id=OuterRef("wa_group_id")
    )
    return (
        SeenGroup.objects.select_related("session")
        .filter(~Exists(monitored))
        .order_by("-last_seen_at", "id")
    )
