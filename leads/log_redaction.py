"""Wall tokens never reach a log in full.

A wall link's token is its only credential (`/wall/<token>/` needs no login), and access logs
are read, shipped and kept by more people than the managers who hand out links. Every log line
written by Django (runserver's request lines, `django.request` warnings) and by gunicorn
(`dashboard.gunicorn_logging`) passes through `redact_wall_tokens`.

Pure Python: gunicorn's logger imports this before Django is set up.
"""

import logging
import re

# `/wall/<token>` in a path, a request line or a Referer; not `/settings/wall/<id>/`.
_WALL_TOKEN = re.compile(r"(?<!/settings)(/wall/)[^/?#\s\"']+")
REDACTED = "[redacted]"


def redact_wall_tokens(text: str) -> str:
    """`GET /wall/Ab3d…/events` → `GET /wall/[redacted]/events`."""
    return _WALL_TOKEN.sub(rf"\g<1>{REDACTED}", text)


class RedactWallTokens(logging.Filter):
    """A logging filter: the record's message, formatted, with wall tokens redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_wall_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
