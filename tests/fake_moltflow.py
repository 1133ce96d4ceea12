"""A MoltFlow written from its documentation, not from this project: an upstream for tests.

The project's own /api/v2 is a mirror the `moltflow` source was built against, so the two
can share a misreading. This fake is written only from CONTRACT.md §1 and the response
examples MoltFlow publishes for its Leads API (list, detail, status, reciprocity, bulk,
JSON export), with an in-memory store; it imports nothing from `leads`. The status table
is the contract's, as tests/contract.py copies it.

It answers the way the documented service does where the mirror is stricter or plainer:
- objects carry fields the mirror never sends (a client must ignore what it does not know);
- every id in a body is a string, and the timestamps come in both spellings the contract
  allows: `…Z` on leads, an offset with microseconds (`…+00:00`) on `updated_at` and
  `created_at`;
- `contact_name`, `contact_phone`, `matched_keyword` and `last_inbound_at` are null where
  the contract allows it;
- every answer carries `X-RateLimit-*`; past the plan's requests a minute, 429 with
  `Retry-After`, on a clock the test supplies.
"""

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx

from tests.contract import ALL_STATUSES, ALLOWED_MOVES

API_KEY = "mf_fake_key_for_the_documented_upstream"
PATH_PREFIX = "/api/v2"
# Requests a minute per plan (CONTRACT §1, Rate limits) and which plans get bulk and export.
RATE_PER_MINUTE = {"free": 10, "starter": 20, "pro": 40, "business": 60}
PLANS_WITH_BULK = {"pro", "business"}
EXPORT_MAX = 10_000
BULK_MAX = 1000


def zulu(moment: datetime) -> str:
    """The spelling of the documented examples: whole seconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def offset(moment: datetime) -> str:
    """The other ISO-8601 spelling: microseconds and `+00:00`."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class Refused(Exception):
    def __init__(self, status: int, detail: object, **headers: str) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers


def _invalid(loc: list[str], msg: str) -> Refused:
    return Refused(422, [{"loc": loc, "msg": msg, "type": "value_error"}])


def _uuid(value: str, loc: list[str]) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise _invalid(loc, "Input should be a valid UUID") from None


@dataclass
class FakeLead:
    id: str
    group_id: str
    contact_phone: str | None
    contact_name: str | None
    lead_status: str
    matched_keyword: str | None
    message_preview: str
    monitor_mode: str
    detected_at: datetime
    updated_at: datetime
    message_count: int = 1


@dataclass
class FakeMoltflow:
    """One MoltFlow account: its sessions, monitored groups, leads and custom groups."""

    clock: Callable[[], float]
    plan: str = "business"
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    leads: dict[str, FakeLead] = field(default_factory=dict)
    custom_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (session id, contact phone) -> when that contact last wrote to the session directly.
    inbound: dict[tuple[str, str], datetime] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    window: tuple[int, int] = (0, 0)  # (minute, requests in it)

    # --- the store, for tests ---------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def add_session(self, name: str = "Sales phone", *, session_id: str | None = None) -> str:
        session_id = session_id or str(uuid.uuid4())
        self.sessions[session_id] = {
            "id": session_id,
            "name": name,
            "status": "WORKING",
            "phone_number": None,  # documented as nullable until the QR code is scanned
            "created_at": offset(self.now()),
            "webhook_url": None,  # not sent by the mirror
        }
        return session_id

    def add_group(
        self,
        session_id: str,
        name: str,
        *,
        group_id: str | None = None,
        wa_group_id: str | None = None,
    ) -> str:
        group_id = group_id or str(uuid.uuid4())
        self.groups[group_id] = {
            "id": group_id,
            "session_id": session_id,
            "wa_group_id": wa_group_id or f"1203630{len(self.groups):011d}@g.us",
            "name": name,
            "monitor_mode": "keywords",
            "monitor_keywords": ["price", "looking for"],
            "is_active": True,
            "participant_count": 42,  # not sent by the mirror
        }
        return group_id

    def add_lead(
        self,
        group_id: str,
        *,
        lead_id: uuid.UUID | None = None,
        name: str | None = "Dana Levi",
        phone: str | None = "+972521111111",
        status: str = "new",
        keyword: str | None = "price",
        preview: str | None = None,
        detected_at: datetime | None = None,
        message_count: int = 1,
    ) -> FakeLead:
        moment = detected_at or self.now()
        lead = FakeLead(
            id=str(lead_id or uuid.uuid4()),
            group_id=group_id,
            contact_phone=phone,
            contact_name=name,
            lead_status=status,
            matched_keyword=keyword,
            message_preview=preview if preview is not None else f"Hi, what's the {keyword}?",
            monitor_mode="keywords" if keyword else "first_message",
            detected_at=moment,
            updated_at=moment,
            message_count=message_count,
        )
        self.leads[lead.id] = lead
        return lead

    def status(self, lead_id: uuid.UUID) -> str:
        return self.leads[str(lead_id)].lead_status

    def update(self, lead_id: uuid.UUID, **fields: object) -> None:
        """Change a lead behind the client's back, as another MoltFlow user would."""
        lead = self.leads[str(lead_id)]
        for name, value in fields.items():
            setattr(lead, name, value)

    # --- serving ----------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        try:
            self._authenticate(request)
            headers = self._count(request)
            status, body = self._route(request)
        except Refused as refused:
            limits = refused.headers or self._limit_headers()
            return httpx.Response(refused.status, json={"detail": refused.detail}, headers=limits)
        return httpx.Response(status, json=body, headers=headers)

    def _authenticate(self, request: httpx.Request) -> None:
        key = request.headers.get("X-API-Key") or request.headers.get("Authorization", "")
        if key.removeprefix("Bearer ") != API_KEY:
            raise Refused(401, "Invalid or missing API key")

    def _limit_headers(self) -> dict[str, str]:
        minute, used = self.window
        limit = RATE_PER_MINUTE[self.plan]
        reset = 60 - int(self.clock()) % 60
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - used)),
            "X-RateLimit-Reset": str(reset),
        }

    def _count(self, request: httpx.Request) -> dict[str, str]:
        minute = int(self.clock()) // 60
        used = self.window[1] + 1 if self.window[0] == minute else 1
        self.window = (minute, used)
        headers = self._limit_headers()
        if used > RATE_PER_MINUTE[self.plan]:
            limit = RATE_PER_MINUTE[self.plan]
            raise Refused(
                429,
                f"Rate limit exceeded: {limit} per 1 minute",
                **headers,
                **{"Retry-After": headers["X-RateLimit-Reset"]},
            )
        return headers

    def _route(self, request: httpx.Request) -> tuple[int, Any]:
        path = request.url.path.removeprefix(PATH_PREFIX).rstrip("/")
        query = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
        method = request.method
        body = json.loads(request.content) if request.content else {}
        if (method, path) == ("GET", "/leads"):
            return 200, self._list(query)
        if (method, path) == ("POST", "/leads/bulk/status"):
            return 200, self._bulk_status(body)
        if (method, path) == ("POST", "/leads/bulk/add-to-group"):
            return 200, self._add_to_group(body)
        if (method, path) == ("GET", "/leads/export/json"):
            return 200, self._export(query)
        if (method, path) == ("GET", "/groups"):
            items = list(self.groups.values())
            return 200, {"items": items, "total": len(items)}
        if (method, path) == ("GET", "/sessions"):
            return 200, list(self.sessions.values())
        if (method, path) == ("GET", "/custom-groups"):
            items = [self._custom_group(group) for group in self.custom_groups.values()]
            return 200, {"items": items, "total": len(items)}
        if (method, path) == ("POST", "/custom-groups"):
            return 201, self._create_custom_group(body)
        match = re.fullmatch(r"/leads/([^/]+)(/status|/reciprocity)?", path)
        if match:
            lead = self._lead(match.group(1))
            if method == "GET" and match.group(2) is None:
                return 200, self._detail(lead)
            if method == "PATCH" and match.group(2) == "/status":
                return 200, self._detail(self._move(lead, body.get("status")))
            if method == "GET" and match.group(2) == "/reciprocity":
                return 200, self._reciprocity(lead, query)
        raise Refused(404, "Not Found")

    # --- leads ------------------------------------------------------------------------------

    def _lead(self, raw_id: str) -> FakeLead:
        lead = self.leads.get(_uuid(raw_id, ["path", "lead_id"]))
        if lead is None:
            raise Refused(404, "Lead not found")
        return lead

    def _object(self, lead: FakeLead) -> dict[str, Any]:
        group = self.groups[lead.group_id]
        return {
            "id": lead.id,
            "contact_phone": lead.contact_phone,
            "contact_name": lead.contact_name,
            "lead_status": lead.lead_status,
            "lead_score": 0,
            "lead_detected_at": zulu(lead.detected_at),
            "source_group": {"id": group["id"], "name": group["name"]},
            "trigger": {
                "matched_keyword": lead.matched_keyword,
                "message_preview": lead.message_preview,
                "monitor_mode": lead.monitor_mode,
                "detected_at": zulu(lead.detected_at),
            },
            # Not sent by the mirror: a client must read past what it does not know.
            "tags": [],
            "assigned_to": None,
        }

    def _detail(self, lead: FakeLead) -> dict[str, Any]:
        group = self.groups[lead.group_id]
        detail = self._object(lead)
        detail["source_group"]["wa_group_id"] = group["wa_group_id"]
        detail.update(
            message_count=lead.message_count,
            session_id=group["session_id"],
            updated_at=offset(lead.updated_at),
            first_message_at=zulu(lead.detected_at),  # not sent by the mirror
        )
        return detail

    def _selected(self, query: dict[str, str]) -> list[FakeLead]:
        status = query.get("status")
        if status is not None and status not in ALL_STATUSES:
            raise _invalid(["query", "status"], "Input should be a lead status")
        group_id = query.get("source_group_id")
        if group_id is not None:
            group_id = _uuid(group_id, ["query", "source_group_id"])
        needle = query.get("search", "").casefold()
        chosen = [
            lead
            for lead in self.leads.values()
            if (status is None or lead.lead_status == status)
            and (group_id is None or lead.group_id == group_id)
            and (
                not needle
                or any(
                    needle in (text or "").casefold()
                    for text in (lead.contact_name, lead.contact_phone, lead.matched_keyword)
                )
            )
        ]
        return sorted(chosen, key=lambda lead: (lead.detected_at, lead.id), reverse=True)

    def _list(self, query: dict[str, str]) -> dict[str, Any]:
        try:
            limit, start = int(query.get("limit", 50)), int(query.get("offset", 0))
        except ValueError:
            raise _invalid(["query", "limit"], "Input should be a valid integer") from None
        if not 1 <= limit <= 100 or start < 0:
            raise _invalid(["query", "limit"], "limit is 1..100 and offset at least 0")
        chosen = self._selected(query)
        return {
            "leads": [self._object(lead) for lead in chosen[start : start + limit]],
            "total": len(chosen),
            "limit": limit,
            "offset": start,
        }

    def _allowed(self, lead: FakeLead, target: object) -> str | None:
        """Why `lead` cannot move to `target`, or None when it can."""
        if target not in ALL_STATUSES:
            return f"Invalid status: {target}"
        if (lead.lead_status, target) not in ALLOWED_MOVES:
            return f"Invalid status transition: {lead.lead_status} -> {target}"
        return None

    def _move(self, lead: FakeLead, target: object) -> FakeLead:
        refusal = self._allowed(lead, target)
        if refusal is not None:
            raise Refused(400, refusal)
        lead.lead_status, lead.updated_at = str(target), self.now()
        return lead

    def _gate(self, what: str) -> None:
        if self.plan not in PLANS_WITH_BULK:
            raise Refused(403, f"{what} requires the Pro plan or above")

    def _ids(self, body: dict[str, Any]) -> list[str]:
        ids = body.get("lead_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= BULK_MAX:
            raise _invalid(["body", "lead_ids"], f"1 to {BULK_MAX} lead ids")
        return list(dict.fromkeys(_uuid(str(i), ["body", "lead_ids"]) for i in ids))

    def _bulk_status(self, body: dict[str, Any]) -> dict[str, Any]:
        self._gate("Bulk operations")
        target = body.get("status")
        updated, errors = 0, []
        for lead_id in self._ids(body):
            lead = self.leads.get(lead_id)
            refusal = "Lead not found" if lead is None else self._allowed(lead, target)
            if refusal is not None:
                errors.append({"lead_id": lead_id, "detail": refusal})
                continue
            self._move(lead, target)  # type: ignore[arg-type]
            updated += 1
        return {"updated": updated, "failed": len(errors), "errors": errors}

    def _reciprocity(self, lead: FakeLead, query: dict[str, str]) -> dict[str, Any]:
        if "session_id" not in query:
            raise _invalid(["query", "session_id"], "Field required")
        session_id = _uuid(query["session_id"], ["query", "session_id"])
        wrote = self.inbound.get((session_id, lead.contact_phone or ""))
        return {
            "lead_id": lead.id,
            "has_messaged_first": wrote is not None,
            "last_inbound_at": zulu(wrote) if wrote else None,
        }

    def _export(self, query: dict[str, str]) -> list[dict[str, Any]]:
        """The JSON export (the client never asks for the CSV one: it writes its own)."""
        self._gate("Exports")
        return [self._object(lead) for lead in self._selected(query)[:EXPORT_MAX]]

    # --- custom groups ----------------------------------------------------------------------

    def _custom_group(self, group: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": group["id"],
            "name": group["name"],
            "member_count": len(group["members"]),
            "created_at": group["created_at"],
        }

    def _create_custom_group(self, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("name") or "").strip()
        if not name:
            raise _invalid(["body", "name"], "Field required")
        group = {
            "id": str(uuid.uuid4()),
            "name": name,
            "members": {},
            "created_at": offset(self.now()),
        }
        self.custom_groups[group["id"]] = group
        return self._custom_group(group)

    def _add_to_group(self, body: dict[str, Any]) -> dict[str, Any]:
        self._gate("Bulk operations")
        group_id = _uuid(str(body.get("custom_group_id")), ["body", "custom_group_id"])
        group = self.custom_groups.get(group_id)
        if group is None:
            raise Refused(404, "Custom group not found")
        added = skipped = 0
        for lead_id in self._ids(body):
            lead = self.leads.get(lead_id)
            phone = lead.contact_phone if lead else None
            if phone is None or phone in group["members"]:
                skipped += 1
                continue
            group["members"][phone] = lead.contact_name if lead else None
            added += 1
        return {"added": added, "skipped": skipped}
