"""Shared fixtures for real-browser tests: Playwright driving Debian's Chromium, headless.

The whole directory is skipped, with the reason, when /usr/bin/chromium or Playwright is
missing (CI installs both). Pages run against pytest-django's `live_server`, signed in by
handing the browser the session cookie of a `force_login`.
"""

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.signals import request_finished, request_started
from django.test import Client

from leads.roles import MANAGER
from tests.people import person

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
HERE = Path(__file__).parent

try:
    from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
except ImportError:  # pragma: no cover - the dev dependencies bring it
    sync_playwright = None

# Playwright's sync API runs an event loop in this thread, and live_server's database work
# happens here too: Django would otherwise refuse it as "called from an async context".
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def _missing() -> str:
    if sync_playwright is None:
        return "Playwright is not installed (pip install -e '.[dev]')"
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return ""


# A browser test starts Chromium, a live server and sometimes `dev.sh prod`: it gets longer
# than the suite's 60 s before pytest-timeout calls it hung (a test's own marker still wins).
BROWSER_TIMEOUT = 240


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    skip = pytest.mark.skip(reason=f"browser tests skipped: {reason}")
    for item in items:
        if HERE not in Path(str(item.path)).parents:
            continue
        if reason:
            item.add_marker(skip)
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(BROWSER_TIMEOUT))


class _Requests:
    """The live server's requests still being answered (its threads; not the test's own
    Client, which answers in this thread and may leave a streamed response unread)."""

    def __init__(self) -> None:
        self._threads: set[int] = set()
        self._lock = threading.Lock()

    def started(self, **kwargs: object) -> None:
        if threading.current_thread() is not threading.main_thread():
            with self._lock:
                self._threads.add(threading.get_ident())

    def finished(self, **kwargs: object) -> None:
        with self._lock:
            self._threads.discard(threading.get_ident())

    def running(self) -> bool:
        """Whether a thread is still inside a request (a thread that has ended is not)."""
        with self._lock:
            return any(thread.ident in self._threads for thread in threading.enumerate())

    def wait_until_none(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.01)


REQUESTS = _Requests()
request_started.connect(REQUESTS.started, dispatch_uid="browser-tests-started")
request_finished.connect(REQUESTS.finished, dispatch_uid="browser-tests-finished")


@pytest.fixture(autouse=True)
def _live_server_quiet_before_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a live-server test, wait for the requests its closed tabs left running.

    A tab closed mid-request (a live refresh, a move) leaves the server thread finishing it;
    pytest-django's TRUNCATE at the end of the test could then deadlock with that thread's
    statements. This fixture sets up after the test database (so it ends before the flush)
    and before any tab (so it ends after they are closed).
    """
    if "live_server" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("transactional_db")
    yield
    REQUESTS.wait_until_none(seconds=10)


@pytest.fixture(scope="session")
def browser() -> Iterator["Browser"]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def signed_in_context(
    browser: "Browser", base_url: str, user: User, **options: Any
) -> "BrowserContext":
    """A fresh browser context (its own cookies) signed in as `user`.

    `options` go to `new_context` (a phone's `viewport`, a `device_scale_factor` for zoom).
    """
    client = Client()
    client.force_login(user)
    options = {"viewport": {"width": 1400, "height": 900}, **options}
    context = browser.new_context(base_url=base_url, **options)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": base_url,
            }
        ]
    )
    return context


def shots_dir(tmp_path: Path) -> Path:
    """Where screenshots go: `LEADS_SCREENSHOT_DIR` when set (to look at them), else the
    test's own temporary directory."""
    return Path(os.environ.get("LEADS_SCREENSHOT_DIR") or tmp_path)


@pytest.fixture
def rep(transactional_db: None) -> User:
    """A teammate who works leads (in the `rep` group the roles are built on)."""
    user = User.objects.create_user("dana", password="pw", first_name="Dana")
    user.groups.add(Group.objects.get_or_create(name="rep")[0])
    return user


def open_tab(browser: "Browser", base_url: str, user: User, **options: object) -> Iterator["Page"]:
    """A signed-in tab that fails the test on any Content Security Policy violation."""
    context = signed_in_context(browser, base_url, user, **options)
    context.set_default_timeout(5000)
    tab = context.new_page()
    violations: list[str] = []
    tab.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield tab
    context.close()
    assert not violations, violations


@pytest.fixture
def page(browser: "Browser", live_server: object, rep: User) -> Iterator["Page"]:
    """A signed-in tab on the live server that fails the test on any CSP violation."""
    yield from open_tab(browser, live_server.url, rep)  # type: ignore[attr-defined]


@pytest.fixture
def manager(transactional_db: None) -> User:
    """Bulk actions, exports and custom groups are a manager's."""
    return person("maya", MANAGER)


@pytest.fixture
def manager_page(browser: "Browser", live_server: object, manager: User) -> Iterator["Page"]:
    yield from open_tab(browser, live_server.url, manager)  # type: ignore[attr-defined]
