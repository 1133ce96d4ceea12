"""A lead's timeline: status changes and what people did on it, merged, newest first."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from leads.assignments import timeline_entries
from leads.sources.records import LeadDetail


@dataclass(frozen=True)
class TimelineItem:
    """One line of the timeline: when, who, what kind, and the plain text (escaped on show)."""

    at: datetime
    who: str
    kind: str  # "status" or a `TimelineKind` value
    text: str
    reason: str = ""  # why a status change was made, isolated on show (written by a person)


def lead_timeline(lead: LeadDetail, limit: int = 200) -> list[TimelineItem]:
    """Notes, owner changes, follow-ups, messages and status changes of `lead`, newest first."""
    items = [
        TimelineItem(
            at=change.changed_at,
            who=change.actor_label,
            kind="status",
            text=f"moved it from {change.from_status} → {change.to_status}",
            reason=change.reason,
        )
        for change in lead.history
    ]
    items += [
        TimelineItem(at=entry.created_at, who=entry.actor_label, kind=entry.kind, text=entry.text)
        for entry in timeline_entries(uuid.UUID(str(lead.id)), limit)
    ]
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]
