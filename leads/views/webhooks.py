"""`POST /webhooks/waha`: WhatsApp messages and session changes from WAHA (CONTRACT §2)."""

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from leads.jsonbody import BadJson, parse_json_body
from leads.waha import (
    MAX_BODY_BYTES,
    UnknownSession,
    WahaPayloadError,
    apply_event,
    parse_event,
    signature_is_valid,
)


def _detail(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@csrf_exempt
@require_POST
def waha(request: HttpRequest) -> JsonResponse:
    """Verify, parse and apply one WAHA event; bad input gets a 4xx, never a 500."""
    secret = settings.WAHA_WEBHOOK_SECRET
    if not secret:  # closed by default: no secret, no way in
        return _detail(403, "This webhook is closed: WAHA_WEBHOOK_SECRET is not set on the server.")
    # Refuse an oversize body before reading or hashing it.
    if _declared_length(request) > MAX_BODY_BYTES:
        return _detail(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return _detail(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
    if not signature_is_valid(
        secret,
        body,
        request.headers.get("X-Webhook-Hmac"),
        request.headers.get("X-Webhook-Hmac-Algorithm"),
    ):
        return _detail(401, "Missing or wrong X-Webhook-Hmac signature.")
    try:
        data = parse_json_body(body)
    except BadJson as error:
        return _detail(400, str(error))
    try:
        event = parse_event(data)
    except WahaPayloadError as error:
        return _detail(400, str(error))
    if event is None:
        return JsonResponse({"status": "ignored"})
    try:
        result = apply_event(event)
    except UnknownSession as error:
        return _detail(404, str(error))
    return JsonResponse({"status": "ok", "result": result})
