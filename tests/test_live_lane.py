"""The fast lane for open screens' polls (leads/live_lane.py).

A poll with a good ticket is answered from the token this process holds in memory, without
the session, the user or the URL resolver; anything else goes through the view's full
checks. These tests check that a change still shows, that access control still holds
(signed out, expired, forged, revoked, another wall's ticket), and that a change written by
one process shows on screens served by two others.
"""

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard.settings import cache_settings
from leads import services
from leads.events import LiveToken, current_token
from leads.live_lane import (
    MEMORY,
    TICKET_HEADER,
    LiveLaneMiddleware,
    PageGate,
    TokenMemory,
    hold_limit_for,
    issue_ticket,
    user_scope,
)
from leads.models import WallLink, hash_wall_token
from leads.roles import MANAGER, REP, set_user_role
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

EVENTS = "/live/events"
SYSTEM = services.Actor.system("test")


@pytest.fixture(autouse=True)
def fresh_memory(settings) -> Iterator[None]:
    # Each test starts from what a new process knows: nothing.
    settings.LIVE_TOKEN_MAX_AGE_MS = 0
    MEMORY.forget()
    MEMORY.read(0)  # the process started before the test's screens opened
    yield
    MEMORY.forget()


@pytest.fixture
def rep() -> User:
    user = User.objects.create_user("rick", password="pw")
    set_user_role(user, REP)
    return user


@pytest.fixture
def rep_client(rep: User) -> Client:
    client = Client()
    client.force_login(rep)
    return client


def first_poll(client: Client, path: str = EVENTS) -> dict:
    """The screen's first poll, through the full view: the token and a ticket."""
    response = client.get(path)
    assert response.status_code == 200
    return {**response.json(), "ticket": response[TICKET_HEADER]}


def poll(client: Client, state: dict, path: str = EVENTS, **extra: str):
    """A later poll, as static/js/live.js and wall.js send it."""
    params = {"after": state["last"], "seen": state["seen"], "ticket": state["ticket"], **extra}
    return client.get(path, params, headers={"Accept": "application/json"})


def make_wall(name: str = "Office") -> tuple[WallLink, str]:
    token = secrets.token_urlsafe(24)
    return WallLink.objects.create(name=name, token_hash=hash_wall_token(token)), token


# --- What the lane answers ------------------------------------------------------------------


def test_the_view_hands_out_a_ticket_and_the_page_carries_one(rep_client: Client) -> None:
    assert first_poll(rep_client)["ticket"]
    page = rep_client.get(reverse("leads:board")).text
    assert 'data-ticket="' in page and 'data-ticket=""' not in page


def test_a_ticketed_poll_touches_neither_session_nor_user(rep_client: Client) -> None:
    state = first_poll(rep_client)
    poll(rep_client, state)  # this process reads the token once
    with CaptureQueriesContext(connection) as queries:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(settings, "LIVE_TOKEN_MAX_AGE_MS", 60_000)
            response = poll(rep_client, state)
    assert response.status_code == 204
    assert response.content == b""
    assert [q["sql"] for q in queries] == []
    assert "no-store" in response["Cache-Control"]
    assert TICKET_HEADER not in response  # answered by the lane, not the view


def test_a_change_shows_on_the_next_ticketed_poll(rep_client: Client) -> None:
    state = first_poll(rep_client)
    assert poll(rep_client, state).status_code == 204
    services.lead_change_status(make_lead().id, "lost", SYSTEM)
    response = poll(rep_client, state)
    assert response.status_code == 200
    assert response.json()["last"] > state["last"]


def test_the_token_is_read_again_once_it_is_older_than_its_max_age(
    rep_client: Client, settings
) -> None:
    settings.LIVE_TOKEN_MAX_AGE_MS = 60_000
    state = first_poll(rep_client)
    assert poll(rep_client, state).status_code == 204
    services.lead_change_status(make_lead().id, "lost", SYSTEM)
    assert poll(rep_client, state).status_code == 204  # still within the max age
    settings.LIVE_TOKEN_MAX_AGE_MS = 0
    assert poll(rep_client, state).status_code == 200


# --- Held polls --------------------------------------------------------------------------------


class FakeStore:
    """The token as the database would give it, counting the reads."""

    def __init__(self) -> None:
        self.token = LiveToken(last=1, seen=1)
        self.reads = 0

    def __call__(self) -> tuple[LiveToken, tuple[object, ...]]:
        self.reads += 1
        return self.token, ()


class CountedSleep:
    """The watcher's pause between re-reads, short and counted."""

    def __init__(self) -> None:
        self.rounds = 0

    def __call__(self, seconds: float) -> None:
        self.rounds += 1
        time.sleep(0.005)


def held_memory(limit: int = 50) -> tuple[TokenMemory, FakeStore, CountedSleep]:
    store, sleep = FakeStore(), CountedSleep()
    memory = TokenMemory(reader=store, sleep=sleep)
    memory.hold_limit = limit
    return memory, store, sleep


def test_a_held_poll_returns_as_soon_as_the_token_moves() -> None:
    memory, store, _ = held_memory()
    seen = memory.read(0)
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(memory.wait_past, seen, 600, 0.01)
        while not memory.holding:
            time.sleep(0.001)
        store.token = LiveToken(last=2, seen=2)
        # Well before its 600 s: the watcher's re-read woke it.
        assert held.result(timeout=30).token == LiveToken(last=2, seen=2)


def test_a_held_poll_answers_unchanged_when_its_time_is_up() -> None:
    memory, _, _ = held_memory()
    seen = memory.read(0)
    assert memory.wait_past(seen, 0.05, 0.01).token == seen.token


def test_a_process_holds_no_more_polls_than_its_limit() -> None:
    memory, store, sleep = held_memory(limit=0)
    seen = memory.read(0)
    assert memory.wait_past(seen, 600, 0.01) is seen  # at once
    assert (store.reads, sleep.rounds) == (1, 0)  # and no watcher started


def test_a_stopping_process_answers_its_held_polls_and_holds_no_more() -> None:
    memory, _, _ = held_memory()
    seen = memory.read(0)
    with ThreadPoolExecutor(3) as pool:
        held = [pool.submit(memory.wait_past, seen, 600, 0.01) for _ in range(3)]
        while memory.holding < 3:
            time.sleep(0.001)
        memory.stop_holding()
        # Unchanged, and well before their 600 s: a restart does not wait for them.
        assert {future.result(timeout=10).token for future in held} == {seen.token}
    assert memory.wait_past(seen, 600, 0.01).token == seen.token  # at once
    assert memory.holding == 0


def test_many_held_polls_share_one_reader() -> None:
    memory, store, sleep = held_memory()
    seen = memory.read(0)
    with ThreadPoolExecutor(20) as pool:
        held = [pool.submit(memory.wait_past, seen, 600, 0.01) for _ in range(20)]
        while memory.holding < 20 or sleep.rounds < 5:
            time.sleep(0.001)
        store.token = LiveToken(last=2, seen=2)
        assert {future.result(timeout=30).token for future in held} == {store.token}
    # One database read per watcher round, however many polls wait (not 20 per round).
    assert store.reads <= sleep.rounds + 1


def test_the_watcher_stops_when_nobody_waits() -> None:
    memory, _, sleep = held_memory()
    seen = memory.read(0)
    memory.wait_past(seen, 0.05, 0.01)
    watchers = [t for t in threading.enumerate() if t.name == "live-token-watcher"]
    for watcher in watchers:
        watcher.join(timeout=30)
    rounds = sleep.rounds
    time.sleep(0.05)
    assert sleep.rounds == rounds


def test_a_process_holds_on_all_its_threads_but_a_few_unless_told(settings) -> None:
    assert hold_limit_for(40) == 36
    assert hold_limit_for(2) == 0
    settings.LIVE_HOLD_MAX = 7
    assert hold_limit_for(40) == 7
    try:
        LiveLaneMiddleware(lambda request: HttpResponse())  # any server, at start
        assert MEMORY.hold_limit == 7
    finally:
        MEMORY.hold_limit = 0


def test_pages_past_the_gate_wait_for_a_free_slot() -> None:
    gate, inside, release = PageGate(), threading.Event(), threading.Event()
    gate.limit(1)
    order: list[str] = []

    def first() -> HttpResponse:
        inside.set()
        release.wait(timeout=30)
        order.append("first")
        return HttpResponse()

    def second() -> HttpResponse:
        order.append("second")
        return HttpResponse()

    with ThreadPoolExecutor(2) as pool:
        running = pool.submit(gate.run, first)
        inside.wait(timeout=30)
        waiting = pool.submit(gate.run, second)
        assert not waiting.done()  # the one slot is taken
        release.set()
        running.result(timeout=30), waiting.result(timeout=30)
    assert order == ["first", "second"]


@pytest.mark.django_db(transaction=True)
def test_a_page_past_the_gate_leaves_no_idle_connection() -> None:
    if connection.settings_dict["NAME"] == ":memory:" or "mode=memory" in str(
        connection.settings_dict["NAME"]
    ):
        pytest.skip("Django never closes an in-memory SQLite database")
    gate = PageGate()
    gate.limit(4)

    def page() -> HttpResponse:
        User.objects.exists()  # a page that read the database
        return HttpResponse()

    gate.run(page)
    assert connection.connection is None


def test_a_held_poll_costs_no_statement(rep_client: Client, settings) -> None:
    settings.LIVE_TOKEN_MAX_AGE_MS = 60_000
    state = first_poll(rep_client)
    poll(rep_client, state)  # this process reads the token once
    MEMORY.hold_limit = 4
    try:
        with CaptureQueriesContext(connection) as queries:
            response = poll(rep_client, state, wait="1")
    finally:
        MEMORY.hold_limit = 0
    assert response.status_code == 204
    assert [q["sql"] for q in queries] == []


def test_a_poll_behind_the_token_is_not_held(rep_client: Client) -> None:
    state = first_poll(rep_client)
    services.lead_change_status(make_lead().id, "lost", SYSTEM)
    MEMORY.hold_limit = 4
    try:
        response = poll(rep_client, state, wait="600")
    finally:
        MEMORY.hold_limit = 0
    assert response.status_code == 200
    assert response.json()["last"] > state["last"]


# --- Access control -------------------------------------------------------------------------


def test_a_signed_out_screen_is_refused_at_once(rep_client: Client) -> None:
    state = first_poll(rep_client)
    assert poll(rep_client, state).status_code == 204
    rep_client.post(reverse("leads:logout"))
    response = poll(rep_client, state)
    assert response.status_code == 401
    assert response.json() == {"detail": "Not signed in."}


def test_another_persons_sign_out_only_costs_one_full_check(rep: User) -> None:
    screen, other = Client(), Client()
    screen.force_login(rep)
    other.force_login(User.objects.create_user("olga", password="pw"))
    state = first_poll(screen)
    other.post(reverse("leads:logout"))
    response = poll(screen, state)
    assert response.status_code == 204
    assert response[TICKET_HEADER]  # the view checked the session and renewed the ticket


def test_while_redis_is_down_no_ticket_is_trusted(rep_client: Client, settings) -> None:
    state = first_poll(rep_client)
    settings.CACHES = cache_settings("redis://127.0.0.1:1/0")  # nobody listens there
    # Signed out in another process: its ticket-epoch bump went to its own memory, not ours.
    Session.objects.all().delete()

    response = poll(rep_client, state)

    assert response.status_code == 401  # the poll went through the session check


def test_an_expired_ticket_without_a_session_is_refused(rep: User, settings) -> None:
    old = issue_ticket(user_scope(rep.pk), now=time.time() - settings.LIVE_TICKET_SECONDS - 1)
    token = current_token()
    response = poll(Client(), {"last": token.last, "seen": token.seen, "ticket": old})
    assert response.status_code == 401


@pytest.mark.parametrize("ticket", ["u:1:9999999999", "junk", "u:1:1:sig", ""])
def test_a_forged_ticket_is_refused(ticket: str) -> None:
    token = current_token()
    response = poll(Client(), {"last": token.last, "seen": token.seen, "ticket": ticket})
    assert response.status_code == 401


def test_a_revoked_wall_stops_at_once() -> None:
    link, token = make_wall()
    wall = Client()
    path = f"/wall/{token}/events"
    state = first_poll(wall, path)
    assert poll(wall, state, path).status_code == 204
    manager = User.objects.create_user("mona", password="pw")
    set_user_role(manager, MANAGER)
    office = Client()
    office.force_login(manager)
    office.post(reverse("leads:wall-link-revoke", args=[link.pk]))
    response = poll(wall, state, path)
    assert response.status_code == 410
    assert response.json() == {"revoked": True}


def test_a_walls_ticket_does_not_open_another_wall() -> None:
    _, token = make_wall("Open")
    closed, closed_token = make_wall("Closed")
    WallLink.objects.filter(pk=closed.pk).update(revoked_at=closed.created_at)
    state = first_poll(Client(), f"/wall/{token}/events")
    response = poll(Client(), state, f"/wall/{closed_token}/events")
    assert response.status_code == 410


def test_a_users_ticket_does_not_open_a_wall(rep: User) -> None:
    link, token = make_wall()
    WallLink.objects.filter(pk=link.pk).update(revoked_at=link.created_at)
    current = current_token()
    response = Client().get(
        f"/wall/{token}/events",
        {"after": current.last, "seen": current.seen, "ticket": issue_ticket(user_scope(rep.pk))},
    )
    assert response.status_code == 410


# --- Across processes -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    """Two app processes on one SQLite file (production settings), and their environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE"))}
    env.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        DJANGO_SECRET_KEY="two-processes-test-secret-key-0123456789abcdef",
        DJANGO_HTTPS="off",
        DJANGO_DEBUG="off",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'shared.sqlite3'}",
    )
    _manage(env, "migrate", "--noinput")
    ports = [_free_port(), _free_port()]
    servers = [
        subprocess.Popen(  # noqa: S603 - our own server
            [sys.executable, "manage.py", "bench_idle_screens", "--serve-on", str(port)],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url in urls:
            for _ in range(100):
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
        yield urls, env
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


@pytest.mark.timeout(240)  # a migration and two servers in other processes, as in tests/browser
def test_a_change_from_one_process_reaches_screens_on_two_others(two_servers) -> None:
    urls, env = two_servers
    link_token = secrets.token_urlsafe(24)
    _manage(
        env,
        "shell",
        "-c",
        "from leads.models import WallLink, hash_wall_token\n"
        f"WallLink.objects.create(name='TV', token_hash=hash_wall_token({link_token!r}))",
    )
    path = f"/wall/{link_token}/events"
    screens = []
    for url in urls:
        first = httpx.get(url + path)
        screens.append({**first.json(), "ticket": first.headers[TICKET_HEADER], "url": url})

    def polls() -> list[int]:
        return [
            httpx.get(
                s["url"] + path,
                params={"after": s["last"], "seen": s["seen"], "ticket": s["ticket"]},
            ).status_code
            for s in screens
        ]

    assert polls() == [204, 204]
    _manage(
        env,
        "shell",
        "-c",
        "from leads.events import announce_lead_created\nannounce_lead_created(None)",
    )
    deadline = time.monotonic() + 10  # each process re-reads within LIVE_TOKEN_MAX_AGE_MS
    while polls() != [200, 200] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert polls() == [200, 200]
