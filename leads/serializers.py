"""Leads as the MoltFlow API v2 spells them (CONTRACT §1): one shape for the API and exports."""

from datetime import UTC, datetime
from typing import Any

from leads.models import Lead


def iso_z(moment: datetime | None) -> str | None:
    """ISO-8601 in UTC with a trailing "Z", as the upstream writes timestamps.

    Milliseconds at most, as the API's JSON encoder writes them: a lead's timestamps read the
    same in the list, the detail, and both exports.
    """
    if moment is None:
        return None
    timespec = "milliseconds" if moment.microsecond else "seconds"
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def lead_payload(lead: Lead, *, detailed: bool = False) -> dict[str, Any]:
    """The lead object; `detailed` adds what `GET /leads/{id}` returns beyond the list."""
    group = lead.source_group
    payload: dict[str, Any] = {
        "id": str(lead.id),
        "contact_phone": lead.contact_phone,
        "contact_name": lead.contact_name,
        "lead_status": lead.lead_status,
        "lead_score": lead.lead_score,
        "lead_detected_at": iso_z(lead.lead_detected_at),
        "source_group": {"id": str(group.id), "name": group.name},
        "trigger": {
            "matched_keyword": lead.matched_keyword,
            "message_preview": lead.message_preview,
            "monitor_mode": lead.monitor_mode,
            "detected_at": iso_z(lead.lead_detected_at),
        },
    }
    if detailed:
        payload["source_group"]["wa_group_id"] = group.wa_group_id
        payload["message_count"] = lead.message_count
        payload["session_id"] = str(group.session_id)
        payload["updated_at"] = iso_z(lead.updated_at)
    return payload
