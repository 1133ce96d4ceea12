"""The production command, as an operator runs it, driven by a real browser.

`bash dev.sh prod` migrates a fresh PostgreSQL database, collects hashed static files, passes
`check --deploy` and starts gunicorn with two worker processes. A manager signs in through
the login form, sees the table with its stylesheet served by WhiteNoise under a hashed name,
moves a lead on the board, and a second browser sees the move live. The access log names the
worker that served each request: both workers served these screens, so the update crossed
processes through the database.

Skipped when PostgreSQL on 127.0.0.1:5432 or Chromium is missing (CI has both).
"""

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from playwright.sync_api import Browser, BrowserContext, Page, expect

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
WITHIN = 3000  # ms: the live-update promise
BASE_DIR = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def admin_sql(statement: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as connection:
        connection.execute(statement)


class Production:
    """`bash dev.sh prod` on its own PostgreSQL database, in its own process group."""

    def __init__(self, tmp_path: Path) -> None:
        self.database = f"leads_prodtest_{secrets.token_hex(4)}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "prod.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE"))}
        self.env = {
            **env,
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64)[:50],
            "DJANGO_HTTPS": "off",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{self.database}",
            "WEB_CONCURRENCY": "2",
            # The serving worker's pid on each access-log line (gunicorn reads this variable).
            "GUNICORN_CMD_ARGS": "--access-logformat 'pid=%(p)s \"%(r)s\" %(s)s'",
        }
        if sys.prefix != sys.base_prefix:
            # The virtualenv running these tests already has every dependency: dev.sh uses it
            # rather than building its own `.venv`, which a fresh checkout does not have yet.
            self.env["VENV"] = sys.prefix
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - the project's own command
            ["bash", str(BASE_DIR / "dev.sh"), "prod", f"127.0.0.1:{self.port}"],  # noqa: S607
            env=self.env,
            cwd=BASE_DIR,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: gunicorn's workers die with it
        )
        # No deadline of its own: the test's timeout (pytest-timeout) ends a start that hangs.
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"dev.sh prod exited:\n{self.log.read_text()[-3000:]}")
            try:
                health = httpx.get(f"{self.url}/healthz", timeout=1)
                if health.status_code == 200:
                    assert health.json() == {"status": "ok", "database": "ok"}
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)

    def manage(self, *args: str) -> str:
        done = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
            [sys.executable, str(BASE_DIR / "manage.py"), *args],
            env=self.env,
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def stop(self) -> str:
        """SIGTERM, as a restart sends it; SIGKILL after 15 s. Says which one ended it."""
        if self.process is None:
            return "not running"
        ended = "graceful"
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            ended = "killed"
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        self.process = None
        return ended


@pytest.fixture
def production(tmp_path: Path) -> Iterator[Production]:
    try:
        admin_sql("SELECT 1")
    except Exception as error:  # any driver or network error: no PostgreSQL here
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 is not reachable ({error})")
    server = Production(tmp_path)
    admin_sql(f'CREATE DATABASE "{server.database}"')
    try:
        server.start()
        yield server
    finally:
        server.stop()
        admin_sql(f'DROP DATABASE IF EXISTS "{server.database}" WITH (FORCE)')


CREATE_MANAGER = """
from django.contrib.auth.models import User
from leads.roles import MANAGER, set_user_role
user = User.objects.create_user("mona", password="{password}")
set_user_role(user, MANAGER)
"""
FIRST_NEW_LEAD = """
from leads.models import Lead
lead = Lead.objects.filter(lead_status="new").order_by("-lead_detected_at").first()
print(lead.id)
"""


def sign_in(browser: Browser, url: str, password: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(base_url=url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/leads/")
    expect(page).to_have_url(f"{url}/login/?next=/leads/")
    page.fill("input[name=username]", "mona")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{url}/leads/")
    return context, page


# Migrating a fresh PostgreSQL database, collectstatic and two gunicorn workers take minutes
# on a loaded 2-core machine: more than the 240 s other browser tests get before "hung".
@pytest.mark.timeout(600)
def test_the_production_command_serves_the_dashboard_with_live_updates_across_workers(
    browser: Browser, production: Production
) -> None:
    password = secrets.token_urlsafe(16)
    production.manage("shell", "-c", CREATE_MANAGER.format(password=password))
    production.manage("seed_demo", "--leads", "200", "--no-credentials")
    # The last line: `shell` may first say which objects it imported.
    lead_id = production.manage("shell", "-c", FIRST_NEW_LEAD).strip().splitlines()[-1]
    violations: list[str] = []
    contexts: list[BrowserContext] = []
    try:
        mover_context, mover = sign_in(browser, production.url, password)
        watcher_context, watcher = sign_in(browser, production.url, password)
        contexts += [mover_context, watcher_context]
        for page in (mover, watcher):
            page.on(
                "console",
                lambda m: (
                    violations.append(m.text) if "Content Security Policy" in m.text else None
                ),
            )

        # The table, styled by a stylesheet under its content hash, cached for good.
        expect(mover.locator("table")).to_be_visible()
        expect(mover.locator("tr[id^=lead-]")).to_have_count(50)
        css = mover.locator('link[rel="stylesheet"]').get_attribute("href") or ""
        assert css.startswith("/static/css/app.") and css != "/static/css/app.css", css
        served = httpx.get(production.url + css, headers={"Accept-Encoding": "gzip"})
        assert served.status_code == 200
        assert "max-age=315360000" in served.headers["Cache-Control"]
        assert served.headers.get("Content-Encoding") == "gzip"

        # The second screen watches the board; the first moves the lead on its own board.
        watcher.goto("/leads/board/")
        expect(watcher.locator(f"#column-new #card-{lead_id}")).to_be_visible()
        mover.goto("/leads/board/")
        mover.locator(f"#card-{lead_id} .card__move > summary").click()  # the card's one Move
        mover.locator(f"#card-{lead_id} button[name=status][value=contacted]").click()
        expect(mover.locator(f"#column-contacted #card-{lead_id}")).to_be_visible()
        moved_at = time.monotonic()
        expect(watcher.locator(f"#column-contacted #card-{lead_id}")).to_be_visible(
            timeout=WITHIN + 1000
        )
        assert time.monotonic() - moved_at <= WITHIN / 1000 + 0.5
        assert not violations, violations

        # A restart while both screens' polls are held open (up to LIVE_HOLD_SECONDS, 20 s):
        # gunicorn's graceful stop answers them at once instead of waiting for them, and
        # the screens say they are reconnecting.
        time.sleep(1.5)  # each screen's next poll is on its way and held
        asked_at = time.monotonic()
        assert production.stop() == "graceful", production.log.read_text()[-2000:]
        assert time.monotonic() - asked_at < 10
        expect(watcher.locator("#live-status")).to_contain_text("Reconnecting")
    finally:
        for context in contexts:
            context.close()
    # Two worker processes booted and both served these screens, so the live update above
    # did not stay inside one process's memory.
    log = production.log.read_text()
    assert log.count("Booting worker with pid") == 2, log[-2000:]
    serving = set(re.findall(r"^pid=<(\d+)> ", log, re.MULTILINE))
    assert len(serving) == 2, log[-2000:]
    assert re.search(r'"POST /leads/[0-9a-f-]+/status/ HTTP/1.1" 200', log), log[-2000:]
