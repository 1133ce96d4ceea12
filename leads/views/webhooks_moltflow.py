"""`POST /webhooks/moltflow`: MoltFlow's `lead.detected` events, mirrored into the store.

Body: `{"event": "lead.detected", "data": {<lead object>}}`; the lead may also come under
`lead`, or as `data.lead`. Other events are acknowledged and ignored.

Closed by default: without `MOLTFLOW_WEBHOOK_SECRET` every request is refused (403). With
it, the request must carry `X-Webhook-Signature`: the hex HMAC-SHA256 of the raw body with
that secret (a `sha256=` prefix is accepted); otherwise 401 and nothing changes. Even a
signed event moves a lead only along the pipeline, never over a status a person set, and
adds no group past the plan's limit (`LeadMirror(strict=True)`). The upsert is idempotent,
so MoltFlow's retries are harmless.
Bad input is a 4xx; a database outage is a 503 (MoltFlow retries), never a 500.
"""

import hashlib
import hmac
import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from leads.jsonbody import BadJson, parse_json_body
from leads.models import ActorKind
from leads.monitoring import PlanLimitReached
from leads.services import Actor
from leads.sources.moltflow import MalformedLead, parse_lead
from leads.sync import LeadMirror

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
LEAD_EVENTS = frozenset({"lead.detected"})


def _detail(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def signature_is_valid(secret: str, body: bytes, signature: str | None) -> bool:
    """True when `signature` is the hex HMAC-SHA256 of the raw `body` with `secret`."""
    if not signature:
        return False
    provided = signature.strip().lower().removeprefix("sha256=")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # compare_digest refuses non-ASCII str; such a header cannot be a hex digest anyway.
    return provided.isascii() and hmac.compare_digest(expected, provided)


def _lead_object(payload: dict[str, Any]) -> Any:
    data = payload.get("data")
    if isinstance(data, dict) and isinstance(data.get("lead"), dict):
        return data["lead"]
    return data if data is not None else payload.get("lead")


@csrf_exempt
@require_POST
def moltflow(request: HttpRequest) -> JsonResponse:
    """Verify, parse and upsert the lead of one `lead.detected` event."""
    secret = settings.MOLTFLOW_WEBHOOK_SECRET
    if not secret:  # closed by default: no secret, no way in
        return _detail(
            403, "This webhook is closed: MOLTFLOW_WEBHOOK_SECRET is not set on the server."
        )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES or len(request.body) > MAX_BODY_BYTES:
        return _detail(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
    body = request.body
    if not signature_is_valid(secret, body, request.headers.get("X-Webhook-Signature")):
        return _detail(401, "Missing or wrong X-Webhook-Signature.")
    try:
        payload = parse_json_body(body)
    except BadJson as error:
        return _detail(400, str(error))
    if not isinstance(payload, dict):
        return _detail(400, "The body must be a JSON object.")
    event = payload.get("event")
    if event is not None and not isinstance(event, str):
        return _detail(400, "The event name must be a string.")
    if event is not None and event not in LEAD_EVENTS:
        return JsonResponse({"status": "ignored", "event": str(event)[:100]})
    try:
        record = parse_lead(_lead_object(payload))
    except MalformedLead as error:
        return _detail(400, f"The event carries no valid lead: {error}")
    mirror = LeadMirror(Actor(kind=ActorKind.WEBHOOK, label="MoltFlow lead.detected"), strict=True)
    try:
        outcome = mirror.upsert(record)
    except PlanLimitReached as error:
        return _detail(403, str(error))
    except DatabaseError:
        logger.exception("MoltFlow webhook: could not store lead %s", record.id)
        return _detail(503, "The lead could not be stored now; retry later.")
    answer = {"status": outcome, "lead_id": str(record.id)}
    if mirror.status_kept:
        answer["status_kept"] = mirror.status_kept
    return JsonResponse(answer)
