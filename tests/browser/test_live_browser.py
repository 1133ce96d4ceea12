"""Live updates and the wall in a real browser.

Two people work side by side while the office wall is open: a move made in one browser shows
in the other and on the wall within 3 seconds, without a reload and without losing what the
other person had open or ticked. Then the server goes away and comes back, and the wall
carries on by itself.
"""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from leads.live_lane import MEMORY
from leads.models import WallLink
from leads.pipeline import Status
from leads.roles import MANAGER, set_user_role
from leads.services import Actor, lead_change_status
from tests.browser.conftest import signed_in_context
from tests.factories import make_group, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

WITHIN = 3000  # ms: the promise to every screen


def watch_csp(page: Page, violations: list[str]) -> Page:
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return page


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    # The wall's shared snapshot cache lives in a table the test flush does not empty:
    # a picture cached by an earlier test would otherwise match this test's empty token.
    cache.clear()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def test_a_move_in_one_browser_shows_in_the_other_and_on_the_wall(
    browser: Browser, live_server, rep: User, contexts: list[BrowserContext]
) -> None:
    group = make_group(name="Real Estate IL")
    moving = make_lead(group, name="Avi Cohen")
    ticked = make_lead(group, name="Tali Ticked")
    opened = make_lead(group, name="Omer Opened")
    manager = User.objects.create_user("mona", password="pw")
    set_user_role(manager, MANAGER)
    _, token = WallLink.issue("Sales floor")
    violations: list[str] = []

    rep_context = signed_in_context(browser, live_server.url, rep)
    manager_context = signed_in_context(browser, live_server.url, manager)
    wall_context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1920, "height": 1080}
    )
    contexts.extend([rep_context, manager_context, wall_context])

    wall = watch_csp(wall_context.new_page(), violations)
    wall.goto(f"/wall/{token}/")
    expect(wall.locator(".wall-column--contacted .wall-column__count")).to_have_text("0")

    # The manager's screen: filtered, a lead's panel open, another lead ticked.
    other = watch_csp(manager_context.new_page(), violations)
    other.goto("/leads/?q=&sort=-detected_at")
    other.locator(f"#lead-{opened.id} .lead-link").click()
    expect(other.locator("#lead-panel")).to_contain_text("Omer Opened")
    other.locator(f'input[name="lead"][value="{ticked.id}"]').check()
    expect(other.locator("#live-status")).to_contain_text("Updated", timeout=WITHIN)

    # The rep moves a lead from the side panel of their own table.
    mine = watch_csp(rep_context.new_page(), violations)
    mine.goto("/leads/")
    mine.locator(f"#lead-{moving.id} .lead-link").click()
    mine.locator('#lead-panel button[name="status"][value="contacted"]').click()
    expect(mine.locator("#messages")).to_contain_text("Moved to contacted.")
    moved_at = time.monotonic()

    expect(other.locator(f"#lead-{moving.id}")).to_have_attribute(
        "data-status", "contacted", timeout=WITHIN
    )
    expect(wall.locator(".wall-column--contacted .wall-column__count")).to_have_text(
        "1", timeout=max(1, int(WITHIN - (time.monotonic() - moved_at) * 1000))
    )
    assert time.monotonic() - moved_at <= WITHIN / 1000
    # Nothing the manager had open or ticked was lost.
    expect(other.locator("#lead-panel")).to_contain_text("Omer Opened")
    expect(other.locator(f'input[name="lead"][value="{ticked.id}"]')).to_be_checked()
    assert other.url.endswith(f"/leads/{opened.id}/")  # the open panel's own URL, kept
    # The wall never asks anyone to sign in, and shows first names only.
    expect(wall.locator(".wall-view--board")).to_contain_text("Avi")
    expect(wall.locator(".wall-view--board")).not_to_contain_text("Cohen")
    assert not violations, violations


def test_a_move_reaches_a_second_board_through_its_held_poll(
    browser: Browser, live_server, rep: User, contexts: list[BrowserContext], settings
) -> None:
    settings.LIVE_HOLD_SECONDS = 3  # the holds end soon after the test
    lead = make_lead(make_group(name="Real Estate IL"), name="Avi Cohen")
    boards = []
    for _ in range(2):
        context = signed_in_context(browser, live_server.url, rep)
        contexts.append(context)
        board = context.new_page()
        board.goto("/leads/board/")
        boards.append(board)
    MEMORY.hold_limit = 4  # the live server runs in this process: let it hold polls
    try:
        deadline = time.monotonic() + 30
        while MEMORY.holding < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert MEMORY.holding >= 2  # both boards wait on the server, not on their timers

        boards[0].locator(f"#card-{lead.id} .card__move > summary").click()
        boards[0].locator(f'#card-{lead.id} button[name="status"][value="contacted"]').click()
        expect(boards[1].locator(f"#card-{lead.id}")).to_have_attribute(
            "data-status", "contacted", timeout=WITHIN
        )
    finally:
        MEMORY.hold_limit = 0


def test_a_board_whose_refresh_fails_says_it_is_behind_and_catches_up(page: Page) -> None:
    lead = make_lead(make_group(name="Real Estate IL"), name="Avi Cohen")
    page.goto("/leads/board/")
    status = page.locator("#live-status")
    expect(status).to_have_attribute("data-state", "ok")
    failed: list[str] = []

    def bad_gateway(route: Route) -> None:
        if route.request.headers.get("x-live-refresh"):
            failed.append(route.request.url)
            route.fulfill(status=502, body="Bad gateway")
        else:
            route.continue_()

    page.route("**/leads/board/**", bad_gateway)
    lead_change_status(lead.id, Status.CONTACTED, Actor.system("test"))
    # The poll answers, the columns do not: the header must not say "Updated".
    expect(status).to_have_attribute("data-state", "behind", timeout=WITHIN)
    expect(status).to_contain_text(re.compile(r"Not updated since \d\d:\d\d:\d\d, retrying"))
    expect(page.locator(f"#card-{lead.id}")).to_have_attribute("data-status", "new")
    assert failed

    page.unroute("**/leads/board/**")
    # Retried by itself (no further change needed), then up to date again.
    expect(page.locator(f"#card-{lead.id}")).to_have_attribute(
        "data-status", "contacted", timeout=WITHIN
    )
    expect(status).to_have_attribute("data-state", "ok")
    expect(status).to_contain_text("Updated")


def test_behind_after_an_outage_names_a_time_from_before_the_outage(page: Page) -> None:
    lead = make_lead(make_group(name="Real Estate IL"), name="Avi Cohen")
    page.goto("/leads/")
    status = page.locator("#live-status")
    expect(status).to_contain_text("Updated")
    page.route("**/*", lambda route: route.abort())
    expect(status).to_have_attribute("data-state", "reconnecting", timeout=WITHIN)
    # The last moment the page is known to have been current: before the server went away.
    outage_began = page.evaluate("() => new Date().toTimeString().slice(0, 8)")
    lead_change_status(lead.id, Status.CONTACTED, Actor.system("test"))
    page.wait_for_timeout(1500)
    page.unroute("**/*")

    def bad_gateway(route: Route) -> None:
        if route.request.headers.get("x-live-refresh"):
            route.fulfill(status=502, body="Bad gateway")
        else:
            route.continue_()

    page.route("**/leads/**", bad_gateway)
    expect(status).to_have_attribute("data-state", "behind", timeout=WITHIN * 3)
    since = re.search(r"since (\d\d:\d\d:\d\d)", status.inner_text())
    assert since is not None and since.group(1) <= outage_began
    expect(page.locator(f"#lead-{lead.id}")).to_have_attribute("data-status", "new")


def test_screens_retry_spread_out_and_refresh_spread_out(page: Page) -> None:
    page.goto("/leads/board/")
    pacing = page.evaluate(
        """() => {
          const p = window.leadsLivePacing;
          const retry = (n, random) => p.retryDelay(n, 1000, 15000, () => random);
          const delays = (random) => [1, 2, 3, 4, 5, 6, 10].map((n) => retry(n, random));
          return {
            low: delays(0), high: delays(1),
            twoScreens: [retry(3, 0.1), retry(3, 0.9)],
            afterHeld: p.nextPoll(0, 20000, 1000),
            afterQuick: p.nextPoll(0, 50, 1000),
            refresh: [0, 0.5, 1].map((random) => p.refreshDelay(500, () => random)),
          };
        }"""
    )
    # Doubling up to 15 s, each wait a random point in the upper half of its step.
    assert pacing["low"] == [500, 1000, 2000, 4000, 7500, 7500, 7500]
    assert pacing["high"] == [1000, 2000, 4000, 8000, 15000, 15000, 15000]
    # Screens that lost the server together do not come back together.
    assert pacing["twoScreens"][0] != pacing["twoScreens"][1]
    # A held poll is followed by the next at once; a quick answer waits out the second.
    assert (pacing["afterHeld"], pacing["afterQuick"]) == (0, 950)
    assert pacing["refresh"] == [0, 250, 500]
    hold = page.locator("#live-status").get_attribute("data-hold-seconds")
    assert hold == str(settings.LIVE_HOLD_SECONDS)


def test_a_revoked_link_blanks_the_screen_within_seconds(
    browser: Browser, live_server, contexts: list[BrowserContext]
) -> None:
    make_lead(name="Dana Levi")
    link, token = WallLink.issue("Lobby")
    context = browser.new_context(base_url=live_server.url)
    contexts.append(context)
    wall = context.new_page()
    wall.goto(f"/wall/{token}/")
    expect(wall.locator(".wall-view--board")).to_contain_text("Dana")

    WallLink.objects.filter(pk=link.pk).update(revoked_at=link.created_at)

    expect(wall.locator("#wall-revoked")).to_be_visible(timeout=WITHIN)
    expect(wall.locator("#wall-revoked")).to_have_text("This display link was revoked.")
    assert wall.locator(".wall-card").count() == 0  # nothing of the old picture remains


def test_an_idle_wall_waits_on_a_held_poll_yet_shows_a_move_and_a_revocation(
    browser: Browser, live_server, contexts: list[BrowserContext], settings
) -> None:
    settings.LIVE_HOLD_SECONDS = 20  # longer than the 10 s after which a wall says "Stale"
    lead = make_lead(make_group(name="Real Estate IL"), name="Avi Cohen")
    link, token = WallLink.issue("Sales floor")
    context = browser.new_context(base_url=live_server.url)
    contexts.append(context)
    wall = context.new_page()
    wall.clock.install()  # the wall's own timers; the server holds its poll in real time
    MEMORY.hold_limit = 4  # the live server runs in this process: let it hold polls
    try:
        wall.goto(f"/wall/{token}/")
        wall.clock.run_for(1500)  # the first poll leaves after data-poll-ms
        deadline = time.monotonic() + 30
        while MEMORY.holding < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert MEMORY.holding == 1  # the wall waits on the server, not on its timer

        # Twelve quiet seconds on the wall's clock: its poll is still held, so not stale.
        wall.clock.run_for(12_000)
        expect(wall.locator("#wall-status")).to_contain_text("Updated")
        expect(wall.locator("body")).not_to_have_class(re.compile("wall--stale"))

        lead_change_status(lead.id, Status.CONTACTED, Actor.system("test"))
        expect(wall.locator(".wall-column--contacted .wall-column__count")).to_have_text(
            "1", timeout=WITHIN
        )

        wall.clock.run_for(1500)  # the next poll, held again
        deadline = time.monotonic() + 30
        while MEMORY.holding < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        WallLink.objects.filter(pk=link.pk).update(revoked_at=link.created_at)
        expect(wall.locator("#wall-revoked")).to_be_visible(timeout=WITHIN)
    finally:
        MEMORY.hold_limit = 0


# --- The wall through a server restart ----------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`manage.py runserver --noreload` on its own SQLite file, stoppable and restartable."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder / 'wall.sqlite3'}",
            "DJANGO_DEBUG": "on",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        }
        self.process: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        done = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                str(Path(settings.BASE_DIR) / "manage.py"),
                "runserver",
                "--noreload",
                f"127.0.0.1:{self.port}",
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("runserver did not come up")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


SETUP = """
from leads.live_lane import MEMORY
from leads.models import WallLink
from leads.pipeline import Status
from tests.factories import make_group, make_lead
group = make_group(name="Tel Aviv Startups")
make_lead(group, name="Dana Levi")
make_lead(group, name="Avi Cohen")
print(WallLink.issue("Sales floor")[1])
"""
MOVE = """
from leads.models import Lead
from leads.services import Actor, lead_change_status
lead = Lead.objects.get(contact_name="Avi Cohen")
lead_change_status(lead.id, "qualified", Actor.system("restart test"))
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path)
    server.manage("migrate", "--noinput")
    yield server
    server.stop()


def test_the_wall_survives_a_server_restart(
    browser: Browser, server: Server, contexts: list[BrowserContext]
) -> None:
    token = server.manage("shell", "-c", SETUP).strip().splitlines()[-1]
    server.start()
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    contexts.append(context)
    wall = context.new_page()
    wall.goto(f"{server.url}/wall/{token}/")
    expect(wall.locator("#wall-status")).to_contain_text("Updated")
    expect(wall.locator(".wall-column--new .wall-column__count")).to_have_text("2")

    server.stop()
    # The last good picture stays, and the screen says since when it is stale.
    expect(wall.locator("#wall-status")).to_contain_text("Stale since", timeout=15000)
    expect(wall.locator("body")).to_have_class(re.compile(r"\bwall--stale\b"))
    expect(wall.locator(".wall-column--new .wall-column__count")).to_have_text("2")
    assert wall.url == f"{server.url}/wall/{token}/"

    # While it is down, someone moves a lead (through another process, straight to the DB).
    server.manage("shell", "-c", MOVE)
    server.start()

    # Back by itself: fresh status, and the move it missed.
    expect(wall.locator(".wall-column--qualified .wall-column__count")).to_have_text(
        "1", timeout=15000
    )
    expect(wall.locator("#wall-status")).to_contain_text("Updated")
    expect(wall.locator("body")).not_to_have_class(re.compile(r"\bwall--stale\b"))
    assert wall.url == f"{server.url}/wall/{token}/"
