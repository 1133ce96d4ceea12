"""The typed errors every lead source raises, whatever it talks to.

Views catch these and nothing else: no httpx exception, HTTP status or ORM error crosses a
source. Each carries what a person needs to read and what a screen needs to decide (retry
when, which status the lead really has, why it is forbidden).
"""

from datetime import datetime

from leads import pipeline


class SourceError(Exception):
    """Base of every error a lead source raises."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(SourceError, LookupError):
    """The lead (or custom group, or session) does not exist in this source."""


class InvalidTransition(SourceError, pipeline.InvalidTransition):
    """The pipeline does not allow the move from the status the lead really has (`current`)."""

    def __init__(self, current: str, target: str) -> None:
        pipeline.InvalidTransition.__init__(self, current, target)
        self.detail = str(self)


class StaleStatus(InvalidTransition):
    """The lead is no longer in `expected`, the status the caller's screen showed.

    `changed_by` and `changed_at` say who moved it, when the source knows (the local store
    does; MoltFlow does not say).
    """

    def __init__(
        self,
        current: str,
        target: str,
        expected: str,
        *,
        changed_by: str | None = None,
        changed_at: datetime | None = None,
    ) -> None:
        super().__init__(current, target)
        self.expected = expected
        self.changed_by = changed_by
        self.changed_at = changed_at
        self.detail = f"The lead is {current} now, not {expected}; it was moved in the meantime."
        self.args = (self.detail,)


class Forbidden(SourceError):
    """The account or key may not do this.

    `kind` is "plan" (feature gated to a higher plan), "limit" (plan's count reached),
    "scope" (the API key lacks a scope) or "auth" (the key is missing, invalid or revoked).
    """

    def __init__(self, detail: str, *, kind: str = "plan", scope: str | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.scope = scope

    @property
    def reason(self) -> str:
        return self.detail


class RateLimited(SourceError):
    """The plan's request budget is spent; try again in `retry_after` seconds (if known)."""

    def __init__(self, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Unavailable(SourceError):
    """The source cannot answer now: timeout, refused connection, 5xx or a malformed answer.

    `since` is when it started failing (shared by every process, so a screen can say "down
    since 10:42"); `retry_after` is a hint in seconds when the upstream gave one.
    """

    def __init__(
        self,
        detail: str,
        *,
        since: datetime | None = None,
        retry_after: float | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.since = since
        self.retry_after = retry_after
        self.status_code = status_code
        # False only when the request certainly never reached the source (a refused
        # connection): a write that failed so was not applied.
        self.reached = True


class NotMoved(SourceError):
    """A move that certainly did not happen, though the source's answer did not say so.

    Raised when the answer to a move was lost or garbled and reading the lead back shows it
    is not where it was sent (`current`), or when the move never reached the source.
    """

    def __init__(self, detail: str, *, current: str | None = None) -> None:
        super().__init__(detail)
        self.current = current


class Unconfirmed(Unavailable):
    """A move whose answer was lost and whose lead could not be read back: nobody knows yet.

    The screen must not show it as done, nor as refused; it says to reload and look.
    """


class Unsupported(SourceError, ValueError):
    """The source cannot do this honestly (a sort or filter it has no way to apply).

    `capabilities()` lists what is supported, so a view can hide the control instead.
    """


class NameTaken(SourceError, ValueError):
    """Another custom group already has this name (names are compared casefolded)."""


class BadRequest(SourceError, ValueError):
    """The source refused the request as malformed (a bug on our side, not the user's)."""
