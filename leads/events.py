"""Announcements that something changed in the store.

The live-update path (issue 7) plugs in here. It is not wired yet: both functions do nothing
today, but every place that creates a lead already calls `announce_lead_created`, so the live
path only has to fill these in. Callers run them after the transaction commits
(`transaction.on_commit`), so nothing is announced that could still roll back.
"""

import uuid


def announce_lead_created(lead_id: uuid.UUID) -> None:
    """Tell live screens that a lead appeared. Not wired yet (issue 7): does nothing."""


def announce_status_changed(lead_id: uuid.UUID) -> None:
    """Tell live screens that a lead changed status. Not wired yet (issue 7): does nothing."""
