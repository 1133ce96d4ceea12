"""gunicorn's logger, with wall tokens redacted from access and error lines (`bash dev.sh prod`)."""

from typing import Any

from gunicorn.glogging import Logger

from leads.log_redaction import RedactWallTokens


class RedactingLogger(Logger):
    """gunicorn's own logger, each of its two logs filtered by `RedactWallTokens`."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.addFilter(RedactWallTokens())
