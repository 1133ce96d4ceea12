"""CPU of one open screen's poll inside Django: through the session, and through the lane.

Calls Django's WSGI handler in this process (no HTTP server, no network) with the request a
screen sends — `GET /live/events?after=&seen=` with its session cookie, then the same with
its ticket — and divides this process's CPU time (`time.process_time`, which a busy machine
does not inflate the way wall-clock time does) by the number of polls.

    python manage.py bench_live_poll [--polls 2000]

Runs on the database in `DATABASE_URL` (a bench user is added) with the settings in force;
use `DJANGO_DEBUG=off` (debug mode keeps every query in memory).
"""

import io
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.handlers.wsgi import WSGIHandler
from django.core.management.base import BaseCommand, CommandParser
from django.test import Client

from leads.events import current_token
from leads.live_lane import MEMORY, issue_ticket, user_scope

BENCH_USER = "bench-live-poll"


def _environ(query: str, cookie: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/live/events",
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_COOKIE": cookie,
        "HTTP_ACCEPT": "application/json",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }


def cpu_per_poll(app: Callable[..., Any], query: str, cookie: str, polls: int) -> tuple[float, str]:
    """Milliseconds of CPU per poll, and the statuses the polls got."""
    statuses: dict[str, int] = {}

    def start(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        statuses[status] = statuses.get(status, 0) + 1

    def one() -> None:
        result = app(_environ(query, cookie), start)
        b"".join(result)
        result.close()

    for _ in range(50):  # warm: imports, the URL resolver, connections
        one()
    statuses.clear()
    started = time.process_time()
    for _ in range(polls):
        one()
    cpu = (time.process_time() - started) / polls * 1000
    return cpu, ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))


class Command(BaseCommand):
    help = "CPU per live poll inside Django: through the session vs through the fast lane."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--polls", type=int, default=2000)

    def handle(self, *args: Any, polls: int, **options: Any) -> None:
        user, _ = User.objects.get_or_create(username=BENCH_USER)
        client = Client()
        client.force_login(user)
        cookie = (
            f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
        token = current_token()
        query = f"after={token.last}&seen={token.seen}"
        app = WSGIHandler()
        MEMORY.read(0)  # as a process that has been serving for a while
        time.sleep(0.01)
        ticket = issue_ticket(user_scope(user.pk))
        full, full_statuses = cpu_per_poll(app, query, cookie, polls)
        lane, lane_statuses = cpu_per_poll(app, f"{query}&ticket={ticket}", cookie, polls)
        one, five, fifteen = os.getloadavg()
        self.stdout.write(
            f"{polls} polls each, {connection_vendor()}; load average {one:.2f}, {five:.2f}, "
            f"{fifteen:.2f} ({os.cpu_count()} cores)\n"
            f"  through the session: {full:.3f} ms CPU per poll ({full_statuses})\n"
            f"  through the lane:    {lane:.3f} ms CPU per poll ({lane_statuses})\n"
            f"  ratio: {full / lane:.1f}x"
        )


def connection_vendor() -> str:
    from django.db import connection

    return connection.vendor
