"""Sign requests to the webhooks the way WAHA and MoltFlow do, with the configured secrets.

The webhooks are closed without a secret (tests/settings.py sets one for the suite); a test
that posts to them signs its body here, so the checks run as they do in production.
"""

import hashlib
import hmac
import json
from typing import Any

from django.conf import settings
from django.test import Client

from leads.waha import sign

WAHA_URL = "/webhooks/waha"
MOLTFLOW_URL = "/webhooks/moltflow"


def body_of(data: object) -> bytes:
    return data if isinstance(data, bytes) else json.dumps(data).encode()


def waha_headers(body: bytes) -> dict[str, str]:
    """The headers WAHA sends with `body`: its HMAC-SHA512 under WAHA_WEBHOOK_SECRET."""
    return {
        "X-Webhook-Hmac": sign(settings.WAHA_WEBHOOK_SECRET, body),
        "X-Webhook-Hmac-Algorithm": "sha512",
    }


def moltflow_headers(body: bytes) -> dict[str, str]:
    """The header MoltFlow sends with `body`: its HMAC-SHA256 under MOLTFLOW_WEBHOOK_SECRET."""
    secret = settings.MOLTFLOW_WEBHOOK_SECRET.encode()
    return {"X-Webhook-Signature": hmac.new(secret, body, hashlib.sha256).hexdigest()}


def post_waha(client: Client, data: object) -> Any:
    body = body_of(data)
    return client.post(WAHA_URL, body, "application/json", headers=waha_headers(body))


def post_moltflow(client: Client, data: object) -> Any:
    body = body_of(data)
    return client.post(MOLTFLOW_URL, body, "application/json", headers=moltflow_headers(body))
