"""The fast lane for open screens' polls: answered before sessions, users or URL routing.

An open table, board or wall asks every second or two whether anything changed. Through the
whole stack that question cost a session read, a user read and the token query (3 SQL
statements, ~5.5 ms of CPU): 100 idle screens used a third of a core. This lane answers it
from two things that need no database per request:

- a **ticket**: a signed `<scope>:<issued ms>` the full view handed the screen after checking
  the session (`u:<user id>`) or the wall link (`w:<hash of the link's token>`); it is good
  for `LIVE_TICKET_SECONDS` and only until the next sign-out or wall revocation anywhere
  (the *ticket epoch*);
- the **live token**, held in this process's memory and re-read from the database at most
  every `LIVE_TOKEN_MAX_AGE_MS` (with a mark of the wall revocations, in one statement, and
  the sign-out epoch from the shared cache), so a change written by any process reaches
  screens served by every process within that time.

A poll may ask to be **held** (`wait=<seconds>`): when nothing has changed the lane keeps it
open until the token moves or the time is up (`LIVE_HOLD_SECONDS`), so an idle screen asks
once every twenty seconds instead of every second and still hears of a change within the
re-read interval. One watcher thread per process re-reads while anyone waits; the held
requests only wait on a condition. A held poll occupies a server thread, so a process holds
at most `hold_limit` (under gunicorn: all its threads but `HOLD_RESERVE`, see
dashboard/gunicorn.conf.py; none elsewhere unless `LIVE_HOLD_MAX` says) and answers the
rest at once: the screen then polls at its ordinary pace. The other threads run pages; no
more than those may run at once (`PAGES`), so the database sees no more connections than
before the holds.

Anything the lane cannot answer — no ticket, a bad, expired or pre-epoch one, a wall ticket
for another link — goes on to the Django view, which checks access as before (401 for an
ended session, 410 for a revoked wall) and sends a fresh ticket in `X-Live-Ticket`. So the
lane falls back by itself, and nothing it answers is more than "the token moved".
"""

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import DatabaseError, connection, connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils import timezone

from leads.events import SEEN_WINDOW, LiveToken, prune_events
from leads.models import LeadEvent, WallLink, hash_wall_token
from leads.shared_cache import is_unreachable

logger = logging.getLogger(__name__)

TICKET_HEADER = "X-Live-Ticket"
EPOCH_KEY = "leads:live-ticket-epoch"
_SIGNER = signing.Signer(salt="leads.live.ticket")
LIVE_PATH = "/live/events"
WALL_PREFIX, WALL_SUFFIX = "/wall/", "/events"
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"
# Threads of a gunicorn worker kept for pages when it holds polls.
HOLD_RESERVE = 4


def user_scope(user_id: int) -> str:
    return f"u:{user_id}"


def wall_scope(token: str) -> str:
    # The hash, not the token: a ticket seen in a log does not give the wall's address.
    return f"w:{hash_wall_token(token)[:32]}"


def issue_ticket(scope: str, request: HttpRequest | None = None, now: float | None = None) -> str:
    """A ticket for `scope` (see `user_scope`, `wall_scope`).

    Dated when `request` began (before its session or link was read), so a sign-out or a
    revocation that lands while the request runs still voids the ticket.
    """
    if now is None:
        now = getattr(request, "live_started", None) or time.time()
    return _SIGNER.sign(f"{scope}:{math.floor(now * 1000)}")


def read_ticket(ticket: str) -> tuple[str, int] | None:
    """The scope and issue time (epoch milliseconds) of a genuine ticket, else None."""
    try:
        value = _SIGNER.unsign(ticket)
    except signing.BadSignature:
        return None
    scope, _, issued = value.rpartition(":")
    if not issued.isdigit():
        return None
    return scope, int(issued)


def bump_ticket_epoch() -> None:
    """Void every ticket issued until now: their next poll goes through the full checks.

    Called on sign-out, so a signed-out screen does not keep polling until its ticket
    expires (wall revocations are seen in the links themselves, see `read_store`).
    Kept in the shared cache (every process reads it with the token); if the cache loses
    it, tickets still expire after `LIVE_TICKET_SECONDS`.
    """
    cache.set(EPOCH_KEY, _now_ms(), None)


def read_store() -> tuple[LiveToken, tuple[object, ...]]:
    """The live token (as `current_token`) and a mark of the wall revocations (how many links
    are revoked, and the latest revocation time), in one statement.

    The mark is read from the links themselves, so a link revoked any way at all (the page,
    the admin, an UPDATE) voids the wall tickets at the next re-read.
    """
    events = connection.ops.quote_name(LeadEvent._meta.db_table)
    walls = connection.ops.quote_name(WallLink._meta.db_table)
    sql = (
        f"SELECT newest.last, (SELECT COUNT(*) FROM {events} WHERE id > newest.last - %s), "  # noqa: S608
        f"(SELECT COUNT(revoked_at) FROM {walls}), (SELECT MAX(revoked_at) FROM {walls}) "
        f"FROM (SELECT COALESCE(MAX(id), 0) AS last FROM {events}) AS newest"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [SEEN_WINDOW])
        last, seen, *revocations = cursor.fetchone()
    return LiveToken(last=int(last), seen=int(seen)), tuple(revocations)


@dataclass(frozen=True)
class _Reading:
    token: LiveToken
    revocations: tuple[object, ...]
    # Tickets issued before this (epoch milliseconds) go through the full checks.
    epoch: int
    read_at: float

    def moved_from(self, other: "_Reading") -> bool:
        """True when a screen holding `other` must hear of this one (new token or epoch)."""
        return self.token != other.token or self.epoch != other.epoch


Reader = Callable[[], tuple[LiveToken, tuple[object, ...]]]


class TokenMemory:
    """The live token and ticket epoch as this process last read them, shared by its threads.

    One thread re-reads when the reading is older than `max_age` seconds; the others keep
    answering from the previous reading meanwhile instead of queueing on the database.
    Held polls (`wait_past`) wait on a condition that every moving re-read signals.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        reader: Reader = read_store,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._reader = reader
        self._sleep = sleep
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._reading: _Reading | None = None
        self._revoked_epoch = 0
        # The first prune comes one interval after start, not with every process start.
        self._pruned_at = clock()
        self.holding = 0
        self._watching = False
        self._stopping = False
        # How many polls this process may hold at once (see the module docstring).
        self.hold_limit = 0

    def read(self, max_age: float) -> _Reading:
        reading = self._reading
        if reading is not None and self._clock() - reading.read_at < max_age:
            return reading
        if not self._lock.acquire(blocking=reading is None):
            return reading  # type: ignore[return-value]  # another thread is re-reading
        try:
            token, revocations = self._reader()
            epoch = int(cache.get(EPOCH_KEY, 0))
            if reading is None or reading.revocations != revocations or is_unreachable(cache):
                # A link was revoked since the last reading (or this process has just
                # started, or the shared cache is down so a sign-out elsewhere cannot be
                # seen): no ticket issued until now is trusted.
                self._revoked_epoch = _now_ms()
            fresh = _Reading(token, revocations, max(epoch, self._revoked_epoch), self._clock())
            self._reading = fresh
        finally:
            self._lock.release()
        if reading is None or fresh.moved_from(reading):
            with self._changed:
                self._changed.notify_all()
        self._prune_when_due(token)
        return fresh

    def wait_past(self, seen: _Reading, seconds: float, max_age: float) -> _Reading:
        """The first reading that moved from `seen`, or the latest one after `seconds`.

        Returns at once when this process already holds `hold_limit` polls, or is stopping.
        """
        deadline = self._clock() + seconds
        with self._changed:
            if self._stopping or self.holding >= self.hold_limit:
                return self._reading or seen
            self.holding += 1
            if not self._watching:
                self._watching = True
                threading.Thread(
                    target=self._watch, args=(max_age,), name="live-token-watcher", daemon=True
                ).start()
            try:
                while True:
                    current = self._reading or seen
                    left = deadline - self._clock()
                    if current.moved_from(seen) or left <= 0 or self._stopping:
                        return current
                    self._changed.wait(left)
            finally:
                self.holding -= 1

    def stop_holding(self) -> None:
        """Answer every held poll now and hold no more: the process is shutting down.

        gunicorn lets a worker finish its open requests before it exits; a held poll would
        keep a restart waiting for its whole hold. Its screen asks again and, while the
        server is away, says "Reconnecting…" until it is back.
        """
        with self._changed:
            self._stopping = True
            self._changed.notify_all()

    def _watch(self, max_age: float) -> None:
        """Re-read every `max_age` while polls are held; then end (a new hold starts another)."""
        try:
            while True:
                self._sleep(max_age)
                with self._changed:
                    if not self.holding:
                        self._watching = False
                        return
                try:
                    self.read(max_age)
                except Exception:  # noqa: BLE001 - held polls rely on this thread living on
                    logger.exception("Reading the live token failed; trying again")
                    connection.close()  # reconnect on the next round
        finally:
            with self._changed:
                self._watching = False
            connections.close_all()  # this thread's own connection

    def _prune_when_due(self, token: LiveToken) -> None:
        # Old events are deleted here, off every write path, a bounded batch at a time.
        every = getattr(settings, "LIVE_PRUNE_SECONDS", 600)
        now = self._clock()
        if now - self._pruned_at < every:
            return
        self._pruned_at = now
        try:
            prune_events(token.last)
        except DatabaseError:
            pass  # the next prune tries again; old events only cost disk meanwhile

    def forget(self) -> None:
        """Drop what was read, as if this process had just started."""
        self._reading = None


MEMORY = TokenMemory()


def _now_ms() -> int:
    return math.floor(time.time() * 1000)


def _max_age() -> float:
    return getattr(settings, "LIVE_TOKEN_MAX_AGE_MS", 250) / 1000


def _ticket_lifetime() -> int:
    return getattr(settings, "LIVE_TICKET_SECONDS", 120)


def _hold_seconds(request: HttpRequest) -> float:
    """How long the poll asks to be held (`wait`), at most `LIVE_HOLD_SECONDS`; 0: not held."""
    asked = _int(request.GET.get("wait")) or 0
    return float(max(0, min(asked, getattr(settings, "LIVE_HOLD_SECONDS", 20))))


def hold_limit_for(threads: int) -> int:
    """How many polls a process with `threads` threads may hold (`LIVE_HOLD_MAX` when set)."""
    configured = getattr(settings, "LIVE_HOLD_MAX", -1)
    return configured if configured >= 0 else max(0, threads - HOLD_RESERVE)


def _scope_matches(path: str) -> Callable[[str], bool] | None:
    """Which ticket scopes may poll `path`, or None when the lane does not serve the path."""
    if path == LIVE_PATH:
        # Any signed-in user's ticket: the answer is the same for every user.
        return lambda scope: scope.startswith("u:")
    if path.startswith(WALL_PREFIX) and path.endswith(WALL_SUFFIX):
        token = path[len(WALL_PREFIX) : -len(WALL_SUFFIX)]
        if token and "/" not in token:
            return wall_scope(token).__eq__
    return None


def ticket_holds(ticket: str, matches: Callable[[str], bool], epoch: int, now: float) -> bool:
    """True for a genuine, unexpired ticket of a matching scope issued since `epoch`."""
    found = read_ticket(ticket)
    if found is None or not matches(found[0]):
        return False
    issued = found[1]
    return issued >= epoch and now * 1000 - issued < _ticket_lifetime() * 1000


def answer(request: HttpRequest) -> HttpResponse | None:
    """The lane's answer to a poll, or None to let the Django view answer it."""
    if request.method != "GET":
        return None
    matches = _scope_matches(request.path_info)
    ticket = request.GET.get("ticket")
    if matches is None or not ticket:
        return None
    try:
        reading = MEMORY.read(_max_age())
    except DatabaseError:
        return None  # the view answers (or fails) as it would without the lane
    if not ticket_holds(ticket, matches, reading.epoch, time.time()):
        return None
    seconds = _hold_seconds(request)
    if seconds and _unchanged(request, reading.token):
        if not connection.in_atomic_block:
            connection.close()  # a held thread keeps no idle database connection
        reading = MEMORY.wait_past(reading, seconds, _max_age())
        if not ticket_holds(ticket, matches, reading.epoch, time.time()):
            return None  # signed out or revoked meanwhile: the view says so
    response = token_answer(request, reading.token)
    # What the view's @never_cache says (no proxy or browser may keep it), without the
    # date formatting that was a fifth of this answer's cost.
    response["Cache-Control"] = NEVER_CACHE
    response["X-Content-Type-Options"] = "nosniff"  # SecurityMiddleware has not run
    return response


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _unchanged(request: HttpRequest, token: LiveToken) -> bool:
    params = request.GET
    return _int(params.get("after")) == token.last and _int(params.get("seen")) == token.seen


def token_answer(request: HttpRequest, token: LiveToken) -> HttpResponse:
    """204 when the caller's `after`/`seen` match `token`, else the token as JSON."""
    if _unchanged(request, token):
        return HttpResponse(status=204)
    return JsonResponse(
        {"last": token.last, "seen": token.seen, "server_time": timezone.now().isoformat()}
    )


class PageGate:
    """How many requests of this process may go past the lane at once (None: no limit).

    With many threads for held polls, a burst of page requests (a hundred screens opening,
    or re-reading after a change) could otherwise open a database connection on every
    thread; past the gate they queue instead, holding no connection, as they did on a few
    threads before.
    """

    def __init__(self) -> None:
        self._slots: threading.BoundedSemaphore | None = None

    def limit(self, slots: int | None) -> None:
        self._slots = threading.BoundedSemaphore(slots) if slots else None

    def run(self, call: Callable[[], HttpResponseBase]) -> HttpResponseBase:
        slots = self._slots
        if slots is None:
            return call()
        with slots:
            response = call()
        if not response.streaming and not connection.in_atomic_block:
            # Of the many threads, those not running a page keep no idle connection either.
            connection.close()
        return response


PAGES = PageGate()


class LiveLaneMiddleware:
    """First in MIDDLEWARE: answer ticketed polls before any other middleware runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        if getattr(settings, "LIVE_HOLD_MAX", -1) >= 0:
            # Any server; under gunicorn, dashboard/gunicorn.conf.py sets it from its threads.
            MEMORY.hold_limit = settings.LIVE_HOLD_MAX

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.time()
        response = answer(request)
        if response is not None:
            return response
        request.live_started = started  # type: ignore[attr-defined]  # dates its tickets
        return PAGES.run(lambda: self.get_response(request))
