"""The one place HTTP and transport failures become `leads.sources.errors`.

Pure: a response or a transport error in, a typed error out. The client notes an
`Unavailable` in the shared health state (`RateBudget.note_down`) before raising it.
"""

import json
import logging
import re

import httpx

from leads.sources.errors import (
    BadRequest,
    Forbidden,
    InvalidTransition,
    NotFound,
    RateLimited,
    SourceError,
    Unavailable,
)
from leads.upstream.retry import NEVER_SENT, retry_after_seconds

logger = logging.getLogger("leads.client")

_TRANSITION = re.compile(r"Invalid status transition:\s*(\w+)\s*->\s*(\w+)")


def transition_from_detail(detail: str) -> tuple[str, str] | None:
    """(current, target) from the upstream's "Invalid status transition: a -> b" sentence."""
    match = _TRANSITION.search(detail)
    return (match.group(1), match.group(2)) if match else None


def deadline_error(seconds: float) -> Unavailable:
    """The call's total deadline passed."""
    return Unavailable(f"MoltFlow did not finish answering within {seconds:g} s.")


def error_for_transport(
    error: httpx.TransportError, timeout: httpx.Timeout, base_url: str
) -> Unavailable:
    """What a transport failure means for the person waiting (never for a passed deadline)."""
    if isinstance(error, httpx.ConnectTimeout):
        detail = f"MoltFlow did not accept a connection within {timeout.connect} s."
    elif isinstance(error, httpx.ConnectError):
        detail = "Cannot connect to MoltFlow (connection refused or host unreachable)."
    elif isinstance(error, httpx.PoolTimeout):
        detail = "Too many requests to MoltFlow are in flight from this server."
    elif isinstance(error, httpx.ReadTimeout):
        detail = f"MoltFlow did not answer within {timeout.read} s."
    elif isinstance(error, httpx.TimeoutException):
        detail = "MoltFlow timed out."
    elif isinstance(error, httpx.RemoteProtocolError):
        detail = "MoltFlow dropped the connection before answering."
    else:
        detail = f"The connection to MoltFlow failed ({type(error).__name__})."
    logger.warning("MoltFlow %s: %s", base_url, detail)
    unavailable = Unavailable(detail)
    # A connection never made, or never taken from the pool, carried nothing upstream.
    unavailable.reached = not isinstance(error, NEVER_SENT)
    return unavailable


def error_for_response(response: httpx.Response, now: float, base_url: str) -> SourceError:
    """The typed error for a refused call (status ≥ 400); `now` in epoch seconds."""
    status = response.status_code
    detail = error_detail(response)
    if status == 400:
        transition = transition_from_detail(detail)
        if transition is not None:
            return InvalidTransition(*transition)
        return BadRequest(detail)
    if status == 401:
        return Forbidden(f"MoltFlow refused the API key: {detail}", kind="auth")
    if status == 403:
        scope = response.headers.get("X-Required-Scopes")
        if scope:
            return Forbidden(detail, kind="scope", scope=scope)
        # A count limit ("the Starter plan allows 5 …") reads differently from a gate.
        kind = "limit" if " allows " in detail else "plan"
        return Forbidden(detail, kind=kind)
    if status == 404:
        return NotFound(detail)
    if status == 429:
        return RateLimited(
            f"MoltFlow's rate limit was reached: {detail}",
            retry_after=retry_after_seconds(response.headers, now),
        )
    if status >= 500:
        logger.warning("MoltFlow %s answered %s: %s", base_url, status, detail[:200])
        return Unavailable(
            f"MoltFlow answered {status}.",
            status_code=status,
            retry_after=retry_after_seconds(response.headers, now),
        )
    return BadRequest(f"MoltFlow answered {status}: {detail}")


def error_detail(response: httpx.Response) -> str:
    """The upstream's `detail` sentence, or a short excerpt of whatever it sent instead."""
    try:
        body = json.loads(response.content)
    except ValueError:
        text = " ".join(response.text.split())[:200]
        return text or response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        if isinstance(detail, list):
            return "; ".join(
                str(item.get("msg", item)) if isinstance(item, dict) else str(item)
                for item in detail
            )
        return str(detail)
    return str(body)[:200]
