"""What open screens cost, measured with real browsers: server CPU while idle, and latency.

Starts the dashboard exactly as an operator does (`bash dev.sh prod`, gunicorn with its
workers and access log) on the database in `DATABASE_URL` (point it at a throwaway one: it
is migrated, seeded with demo leads when empty, and a bench user is added), opens N pages in
headless Chromium (one browser, one context per page: each page has its own cookies, as on
separate TVs), and then:

1. measures the server processes' CPU (from /proc) with no page open, then over `--seconds`
   with every page open and idle, and counts the requests they made from the access log;
2. moves a lead from this process (through the services, as any other writer would) and
   measures how long until every page shows the move, `--moves` times.

    python manage.py bench_screens [--screens 100] [--seconds 60] [--screen board|table|wall]
                                   [--moves 3] [--workers 3]

It prints CPU as % of one core, the requests per second, the latency (median, p95, max over
every page and move) and the machine's load (`os.getloadavg()`): this is a shared 2-core
machine, and numbers taken under load are noisy.
"""

import logging
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from playwright.sync_api import Error as PlaywrightError

from leads.bench import p95
from leads.management.commands.bench_idle_screens import process_tree, tree_cpu_seconds

BENCH_USER = "bench-screens"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    # A page that is not in front must keep polling at its visible pace: these are TVs.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
# Records, in the page, when the moved lead first shows its new status (epoch milliseconds),
# and the steps before it from the browser's network stack (Resource Timing, so a renderer
# queueing for a CPU behind a hundred others does not delay the stamps): when the held poll
# answered that something changed (`__polledAt`), when the page asked for its region again
# (`__requestedAt`) and when that answer had arrived (`__deliveredAt`). The gap between the
# last and the move showing is the page's own work; on separate TVs each has a CPU of its own.
DELIVERY = """
  window.__polledAt = window.__requestedAt = window.__deliveredAt = null;
  const delivered = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (window.__polledAt === null && entry.name.includes("/live/events")) {
        window.__polledAt = performance.timeOrigin + entry.responseEnd;
      }
      if (window.__deliveredAt === null && entry.name.includes(REGION)) {
        window.__requestedAt = performance.timeOrigin + entry.startTime;
        window.__deliveredAt = performance.timeOrigin + entry.responseEnd;
        delivered.disconnect();
      }
    }
  });
  delivered.observe({type: "resource"});
"""
# The steps a change takes on each page, by the stamp DELIVERY leaves for each.
STEPS = {
    "poll answered": "window.__polledAt",
    "region asked for": "window.__requestedAt",
    "refresh arrived": "window.__deliveredAt",
}
# Records when the moved lead first shows in its new status: the element SHOWN (a board's
# card, a table's row) with `data-status` set to it. REGION is the page's refresh request.
WATCH_MOVED = (
    """([id, status]) => {
  const REGION = "__REGION__";"""
    + DELIVERY
    + """
  window.__seenAt = null;
  const shown = () => document.querySelector(`__SHOWN__[data-status="${status}"]`);
  if (shown()) { window.__seenAt = Date.now(); return; }
  const observer = new MutationObserver(() => {
    if (shown()) { window.__seenAt = Date.now(); observer.disconnect(); }
  });
  observer.observe(document.body, {subtree: true, childList: true, attributes: true});
}"""
)
WATCH_BOARD = WATCH_MOVED.replace("__REGION__", "/leads/board/").replace("__SHOWN__", "#card-${id}")
WATCH_TABLE = WATCH_MOVED.replace("__REGION__", "/leads/").replace("__SHOWN__", "#lead-${id}")
WATCH_WALL = (
    """([id, status, count]) => {
  const REGION = "/snapshot";"""
    + DELIVERY
    + """
  window.__seenAt = null;
  const shown = () => {
    const el = document.querySelector(`[data-wall-count="${status}"]`);
    return el && el.textContent.replace(/\\D/g, "") === String(count);
  };
  if (shown()) { window.__seenAt = Date.now(); return; }
  const observer = new MutationObserver(() => {
    if (shown()) { window.__seenAt = Date.now(); observer.disconnect(); }
  });
  observer.observe(document.body, {subtree: true, childList: true, characterData: true});
}"""
)


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load() -> str:
    """The machine's load average, as `uptime` words it."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} cores)"


class Command(BaseCommand):
    help = "Measure open screens with real browsers: idle server CPU, and change latency."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--screens", type=int, default=100)
        parser.add_argument("--seconds", type=float, default=60.0, help="idle window")
        parser.add_argument("--screen", choices=["board", "table", "wall"], default="board")
        parser.add_argument("--moves", type=int, default=3, help="lead moves to time")
        parser.add_argument("--workers", type=int, default=3, help="WEB_CONCURRENCY")
        parser.add_argument("--leads", type=int, default=3000, help="seeded if the store is empty")

    def handle(self, *args: Any, **options: Any) -> None:
        url = os.environ.get("DATABASE_URL", "")
        if not url:
            raise CommandError("Set DATABASE_URL to a throwaway database (it is migrated).")
        # A `timeout` or Ctrl-C still stops the server and the browser (their cleanup runs).
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
        with ScreensBench(self.stdout.write, options) as bench:
            bench.run()


class ScreensBench:
    """The driver: prepares the store, runs `dev.sh prod`, opens the pages, measures."""

    def __init__(self, log: Callable[[str], object], options: dict[str, Any]) -> None:
        self.log = log
        self.options = options
        self.folder = Path(f"/tmp/bench-screens-{secrets.token_hex(4)}")  # noqa: S108
        self.folder.mkdir()
        self.access_log = self.folder / "access.log"
        self.server: subprocess.Popen | None = None
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "ScreensBench":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)

    # --- preparing -----------------------------------------------------------------------

    def _prepare(self) -> tuple[str, str]:
        from django.contrib.auth.models import Group, User

        from leads.models import Lead, WallLink

        call_command("migrate", verbosity=0)
        if not Lead.objects.exists():
            self.log(f"Seeding {self.options['leads']} demo leads…")
            call_command("seed_demo", leads=self.options["leads"], no_credentials=True)
        password = secrets.token_urlsafe(16)
        user, _ = User.objects.get_or_create(username=BENCH_USER)
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get_or_create(name="rep")[0])
        token = secrets.token_urlsafe(24)
        WallLink.objects.create(name="bench", token_hash=_wall_hash(token))
        return password, token

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        env.update(
            DJANGO_SETTINGS_MODULE="dashboard.settings",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(64)[:50],
            DJANGO_HTTPS="off",  # plain HTTP on loopback; a proxy terminates TLS in production
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DJANGO_STATIC_ROOT=str(self.folder / "static"),
            WEB_CONCURRENCY=str(self.options["workers"]),
            # The access log as dev.sh writes it, but with the status first: counted below.
            GUNICORN_CMD_ARGS="--access-logformat '%(s)s \"%(r)s\"'",
        )
        return env

    def _start(self) -> list[int]:
        self.server = subprocess.Popen(  # noqa: S603 - the project's own command
            ["bash", str(Path(settings.BASE_DIR) / "dev.sh"), "prod", f"127.0.0.1:{self.port}"],  # noqa: S607
            env=self._environment(),
            cwd=settings.BASE_DIR,
            stdout=self.access_log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise CommandError(f"dev.sh prod stopped:\n{self.access_log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    time.sleep(2)  # every worker booted
                    return process_tree(self.server.pid)
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise CommandError("dev.sh prod did not answer within 120 s.")

    def _session_cookie(self, password: str) -> str:
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            client.get("/login/")
            response = client.post(
                "/login/",
                data={
                    "username": BENCH_USER,
                    "password": password,
                    "csrfmiddlewaretoken": client.cookies["csrftoken"],
                },
            )
            if response.status_code != 302:
                raise CommandError(f"Could not sign in ({response.status_code}).")
            return client.cookies[settings.SESSION_COOKIE_NAME]

    # --- measuring -----------------------------------------------------------------------

    def _requests_in(self, start: int, end: int) -> dict[str, int]:
        """Status code → count of access-log lines written between two byte offsets."""
        with self.access_log.open("rb") as log:
            log.seek(start)
            text = log.read(end - start).decode(errors="replace")
        counts: dict[str, int] = {}
        for line in text.splitlines():
            match = re.match(r"^(\d{3}) \"GET (\S+)", line)
            if match:
                kind = f"{match.group(1)} {match.group(2).split('?')[0]}"
                kind = re.sub(r"/wall/[^/]+/", "/wall/<token>/", kind)
                counts[kind] = counts.get(kind, 0) + 1
        return counts

    def _cpu_over(self, pids: list[int], seconds: float) -> tuple[float, dict[str, int]]:
        start_log = self.access_log.stat().st_size
        t0, c0 = time.monotonic(), tree_cpu_seconds(pids)
        time.sleep(seconds)
        t1, c1 = time.monotonic(), tree_cpu_seconds(pids)
        requests = self._requests_in(start_log, self.access_log.stat().st_size)
        return 100 * (c1 - c0) / (t1 - t0), requests

    def run(self) -> None:
        from playwright.sync_api import sync_playwright

        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop
        logging.getLogger("httpx").setLevel(logging.WARNING)
        options = self.options
        password, wall_token = self._prepare()
        from leads.models import Lead

        leads = Lead.objects.count()
        self.log(f"Starting `bash dev.sh prod` ({options['workers']} workers), {leads} leads…")
        pids = self._start()
        cookie = self._session_cookie(password)
        rest, _ = self._cpu_over(pids, 10)
        self.log(f"Server at rest (no page open): {rest:.1f}% of one core; {load()}")
        path = {"board": "/leads/board/", "table": "/leads/", "wall": f"/wall/{wall_token}/"}[
            options["screen"]
        ]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            pages = self._open(browser, path, cookie)
            time.sleep(10)  # every page past its first polls, the workers warm
            idle, requests = self._cpu_over(pids, options["seconds"])
            total = sum(requests.values())
            self.log(
                f"{options['screens']} idle {options['screen']} pages for "
                f"{options['seconds']:g} s: server CPU {idle:.1f}% of one core "
                f"(at rest {rest:.1f}%); {total / options['seconds']:.1f} requests/s "
                f"{dict(sorted(requests.items()))}; {load()}"
            )
            moves_cpu = tree_cpu_seconds(pids)
            moves = self._moves(pages, options)
            moves_cpu = tree_cpu_seconds(pids) - moves_cpu
            browser.close()
        # What the server spent on the moves (each window: the change, every page's refresh,
        # the polls until the last page showed it and 3 s more): its CPU per change, whatever
        # the renderers' share.
        per_move = moves_cpu / max(1, len(moves))
        self.log(
            f"Server CPU while the moves showed: {per_move:.2f} s per move, "
            f"{1000 * per_move / max(1, len(pages)):.1f} ms per page; {load()}"
        )
        # A page's first redraw after it loaded also draws every card whose age changed since
        # it loaded (and anything else cold); from the second on only what changed: both.
        for label, counted in (("", moves), (", after the first move", moves[1:])):
            screens = f"{len(pages)} pages × {len(counted)} moves{label}"
            for what in (*STEPS, "shown"):
                times = [at for move in counted for at in move[what]]
                if times:
                    self.log(
                        f"Change → {what} on every page ({screens}): "
                        f"median {statistics.median(times):.0f} ms, p95 {p95(times):.0f} ms, "
                        f"max {max(times):.0f} ms; {load()}"
                    )

    def _open(self, browser: Any, path: str, cookie: str) -> list[Any]:
        """Open the pages in batches, each batch loading at once (as TVs switched on together)."""
        screens, batch = self.options["screens"], 10
        self.log(f"Opening {screens} {self.options['screen']} pages…")
        pages: list[Any] = []
        while len(pages) < screens:
            opened = []
            for _ in range(min(batch, screens - len(pages))):
                context = browser.new_context(
                    base_url=self.base_url, viewport={"width": 1920, "height": 1080}
                )
                context.add_cookies(
                    [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": self.base_url}]
                )
                page = context.new_page()
                opened.append(page)
                _goto(page, path, wait_until="commit")
            for page in opened:
                try:
                    page.wait_for_load_state("load", timeout=120000)
                except PlaywrightError:
                    _goto(page, path, wait_until="load")
            pages.extend(opened)
            self.log(f"  {len(pages)} open; {load()}")
        return pages

    def _moves(self, pages: list[Any], options: dict[str, Any]) -> list[dict[str, list[float]]]:
        """Per move, and in it per page: ms from the move to each of `STEPS` and until the
        page showed it ("shown")."""
        from leads.models import Lead
        from leads.pipeline import Status
        from leads.services import Actor, lead_change_status

        # One lead goes round new → contacted → qualified → lost → new (never converted,
        # which is final): the newest one that is not converted, so it heads every column it
        # enters (a board column shows its newest leads) and the store never runs out of
        # leads to move, however many runs it serves.
        cycle = {
            Status.NEW: Status.CONTACTED,
            Status.CONTACTED: Status.QUALIFIED,
            Status.QUALIFIED: Status.LOST,
            Status.LOST: Status.NEW,
        }
        lead = (
            Lead.objects.exclude(lead_status=Status.CONVERTED).order_by("-lead_detected_at").first()
        )
        if lead is None:
            raise CommandError("No lead to move: every lead in the store is converted.")
        moves: list[dict[str, list[float]]] = []
        status = Status(lead.lead_status)
        for move in range(options["moves"]):
            target = cycle[status]
            status = target
            args: list[str | int]
            if options["screen"] in ("board", "table"):
                watch = WATCH_BOARD if options["screen"] == "board" else WATCH_TABLE
                args = [str(lead.id), str(target)]
            else:
                count = Lead.objects.filter(lead_status=target).count() + 1
                watch, args = WATCH_WALL, [str(lead.id), str(target), count]
            for page in pages:
                page.evaluate(watch, args)
            moved_at = time.time() * 1000
            lead_change_status(lead.id, target, Actor.system("bench_screens"))
            deadline = time.monotonic() + 30
            seen: list[float | None] = [None] * len(pages)
            # Asking a hundred renderers every 0.2 s was itself a load on two cores; the
            # pages keep their own timestamps, so asking once a second loses no precision.
            while time.monotonic() < deadline and None in seen:
                time.sleep(1)
                for index, page in enumerate(pages):
                    if seen[index] is None:
                        seen[index] = page.evaluate("window.__seenAt")
            missing = seen.count(None)
            shown = [at - moved_at for at in seen if at is not None]
            steps = {
                name: [at - moved_at for page in pages if (at := page.evaluate(stamp)) is not None]
                for name, stamp in STEPS.items()
            }
            arrived = steps["refresh arrived"]
            moves.append({**steps, "shown": shown})
            self.log(
                f"Move {move + 1} ({target}): refresh arrived on {len(arrived)}/{len(pages)} "
                f"pages (max {max(arrived, default=0):.0f} ms), shown on {len(shown)} "
                f"(max {max(shown, default=0):.0f} ms)"
                + (f"; {missing} pages never showed it within 30 s" if missing else "")
            )
            time.sleep(3)
        return moves


def _goto(page: Any, path: str, wait_until: str) -> None:
    """Navigate, retrying twice: on a machine this loaded, Chromium's network service
    sometimes drops a connection it was opening (net::ERR_SOCKET_NOT_CONNECTED)."""
    for attempt in range(3):
        try:
            page.goto(path, wait_until=wait_until, timeout=120000)
            return
        except PlaywrightError:
            if attempt == 2:
                raise
            time.sleep(2)


def _wall_hash(token: str) -> str:
    from leads.models import hash_wall_token

    return hash_wall_token(token)
