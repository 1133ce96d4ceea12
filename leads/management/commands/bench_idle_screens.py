"""What open screens cost the server while nothing happens: CPU seconds and memory.

Starts the dashboard as separate server processes — gunicorn as `bash dev.sh prod` runs it
(3 workers × 40 threads, its config and access log), or `--server django` for Django's threaded
server — against a throwaway, migrated database with production settings, signs in once,
then simulates N open screens, each polling `/live/events` as static/js/live.js does (a
signed-in session and its live ticket, a keep-alive connection, 204 when unchanged): asking
to be held `--hold` seconds (0: not held), and at most one poll per `--interval`.
After a warm-up it reads the server processes' CPU time from /proc/<pid>/stat and their
memory from /proc/<pid>/status and smaps_rollup.

With `--moves N` the store is seeded with demo leads and, after the idle window, a lead is
moved N times from another process (as any writer would); each screen then re-reads the
board region as static/js/live.js does (after a random pause of up to
`LIVE_REFRESH_SPREAD_MS`, marked as a live refresh), and the command prints how long after
each move every screen had its new board: the server's part of "a change on every screen
within 2 s", without a hundred browsers' rendering competing for the same two cores.

    python manage.py bench_idle_screens [--screens 100] [--seconds 60] [--interval 1]
                                        [--hold 20] [--server gunicorn|django] [--workers 3]
                                        [--threads 40] [--moves 0]
                                        [--database-url postgres://…/throwaway]

By default the database is a temporary SQLite file. With `--database-url` the given database
is migrated and used (point it at a throwaway PostgreSQL database: a bench user is added).
"""

import asyncio
import logging
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.bench import BenchRow, p95, print_table, row
from leads.live_lane import hold_limit_for

BENCH_USER = "bench-idle-screens"
# Seconds each move is given to reach every screen before the next one.
MOVE_GAP = 10.0
BOARD_REFRESH = {"HX-Request": "true", "HX-Target": "board-columns", "X-Live-Refresh": "1"}
# Run by `manage.py shell` in its own process: moves the newest new lead, prints when.
MOVE_ONE_LEAD = (
    "import time\n"
    "from leads.models import Lead\n"
    "from leads.services import Actor, lead_change_status\n"
    "lead = Lead.objects.filter(lead_status='new').order_by('-lead_detected_at').first()\n"
    "lead_change_status(lead.id, 'contacted', Actor.system('bench_idle_screens'))\n"
    "print(time.time())\n"
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLOCK_TICKS


def process_tree(pid: int) -> list[int]:
    """`pid` and its children (gunicorn's workers), from the parent ids in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def tree_cpu_seconds(pids: list[int]) -> float:
    """CPU seconds used so far by all of `pids` together."""
    return sum(cpu_seconds(pid) for pid in pids)


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (resident now), VmHWM (resident peak) and Pss (resident, pages shared with
    other processes counted as a share: gunicorn's forked workers share most) in kB."""
    found: dict[str, int] = {}
    for source in (Path(f"/proc/{pid}/status"), Path(f"/proc/{pid}/smaps_rollup")):
        if not source.exists():
            continue
        for line in source.read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM", "Pss"):
                found[name] = int(value.split()[0])
    return found


@dataclass
class Tally:
    """Polls that started inside the measured window (after the warm-up)."""

    window: tuple[float, float] = (0.0, 0.0)
    # Screens keep going this long (monotonic) for the moves after the window.
    end: float = 0.0
    latencies: list[float] = field(default_factory=list)
    # (screen, epoch seconds) each time a screen had re-read its board after a change.
    boards: list[tuple[int, float]] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0

    def counts(self, started: float) -> bool:
        return self.window[0] <= started < self.window[1]


async def _screen(
    base_url: str,
    cookies: dict[str, str],
    pace: tuple[float, int],
    tally: Tally,
    offset: float,
    refresh: tuple[int, float] | None = None,
) -> None:
    """One screen's polls; with `refresh` (its number, the spread in seconds) it re-reads
    the board region after each change, as live.js does."""
    # Screens opened at different moments: spread their first polls over one interval.
    await asyncio.sleep(offset)
    interval, hold = pace
    params: dict[str, Any] = {}
    headers = {"Accept": "application/json"}
    timeout = 10 + hold
    async with httpx.AsyncClient(base_url=base_url, cookies=cookies, timeout=timeout) as client:
        while time.monotonic() < max(tally.window[1], tally.end):
            started = time.monotonic()
            try:
                response = await client.get("/live/events", params=params, headers=headers)
                # The view renews the screen's ticket (see leads/live_lane.py), as live.js keeps it.
                ticket = response.headers.get("X-Live-Ticket", params.get("ticket", ""))
                if response.status_code == 200:
                    token = response.json()  # the page's first poll, or a change
                    if refresh is not None and "after" in params:
                        await _reread_board(client, refresh, tally)
                    params = {"after": token["last"], "seen": token["seen"]}
                    if hold:
                        params["wait"] = hold
                params["ticket"] = ticket
                failed = response.status_code not in (200, 204)
            except (httpx.HTTPError, ValueError):
                response, failed = None, True
            if tally.counts(started):
                if response is not None:
                    code = response.status_code
                    tally.statuses[code] = tally.statuses.get(code, 0) + 1
                tally.errors += failed
                tally.latencies.append(time.monotonic() - started)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))


async def _reread_board(
    client: httpx.AsyncClient, refresh: tuple[int, float], tally: Tally
) -> None:
    screen, spread = refresh
    await asyncio.sleep(random.random() * spread)  # noqa: S311 - a pause, not a secret
    try:
        response = await client.get("/leads/board/", headers=BOARD_REFRESH)
    except httpx.HTTPError:
        return
    if response.status_code == 200 and 'id="board-columns"' in response.text:
        tally.boards.append((screen, time.time()))


async def _screens(
    base_url: str,
    cookies: dict[str, str],
    count: int,
    pace: tuple[float, int],
    warmup: float,
    seconds: float,
    sample: Callable[[], None],
    moves: tuple[int, Callable[[], float], float] | None = None,
) -> tuple[Tally, list[float]]:
    """Run `count` polling screens; `sample()` is called as the window opens, about once a
    second through it, and as it closes. With `moves` (how many, the mover, the refresh
    spread in seconds) the screens go on after the window while the mover moves a lead
    every MOVE_GAP seconds; returns the tally and each move's epoch time."""
    now = time.monotonic()
    tally = Tally(window=(now + warmup, now + warmup + seconds))
    moved: list[float] = []
    if moves:
        tally.end = tally.window[1] + moves[0] * MOVE_GAP + 1

    async def mover() -> None:
        if not moves:
            return
        await asyncio.sleep(warmup + seconds)
        for _ in range(moves[0]):
            started = time.monotonic()
            moved.append(await asyncio.to_thread(moves[1]))
            await asyncio.sleep(max(0.0, MOVE_GAP - (time.monotonic() - started)))

    async def clock() -> None:
        await asyncio.sleep(warmup)
        sample()
        # A sample a second (or fewer, for short windows): each slice gives one CPU and one
        # memory reading, so the window has a median and a tail, not only a mean.
        slices = max(1, round(seconds))
        for _ in range(slices):
            await asyncio.sleep(seconds / slices)
            sample()

    screens = (
        _screen(
            base_url,
            cookies,
            pace,
            tally,
            pace[0] * n / max(count, 1),
            (n, moves[2]) if moves else None,
        )
        for n in range(count)
    )
    await asyncio.gather(clock(), mover(), *screens)
    return tally, moved


def board_latencies(
    boards: list[tuple[int, float]], moved: list[float], screens: int
) -> tuple[list[float], int]:
    """For each move and screen, ms until that screen had re-read its board after the move;
    and how many screen × moves never did before the next move."""
    latencies, missing = [], 0
    for index, at in enumerate(moved):
        until = moved[index + 1] if index + 1 < len(moved) else float("inf")
        for screen in range(screens):
            after = [when for who, when in boards if who == screen and at <= when < until]
            if after:
                latencies.append((min(after) - at) * 1000)
            else:
                missing += 1
    return latencies, missing


class Command(BaseCommand):
    help = "Measure the server CPU and memory that N idle open screens cost (live polling)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--screens", type=int, default=100)
        parser.add_argument("--seconds", type=float, default=60.0)
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
        parser.add_argument("--hold", type=int, default=20, help="wait= each poll asks (0: none)")
        parser.add_argument("--database-url", default="", help="a throwaway database to use")
        parser.add_argument(
            "--server",
            choices=["gunicorn", "django"],
            default="gunicorn",
            help="gunicorn as `bash dev.sh prod` runs it (default), or Django's threaded server",
        )
        parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
        parser.add_argument("--threads", type=int, default=40, help="gunicorn threads per worker")
        parser.add_argument(
            "--moves", type=int, default=0, help="after the idle window, time N lead moves"
        )
        # Internal: the server half of the benchmark, run as its own process.
        parser.add_argument("--serve-on", type=int, default=0, help="(internal)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["serve_on"]:
            self._serve(options["serve_on"])
            return
        rows = measure(
            screens=options["screens"],
            seconds=options["seconds"],
            interval=options["interval"],
            hold=options["hold"],
            database_url=options["database_url"],
            server=options["server"],
            workers=options["workers"],
            threads=options["threads"],
            moves=options["moves"],
            log=self.stdout.write,
        )
        print_table(rows, self.stdout.write)

    # --- the server process ------------------------------------------------------------------

    def _serve(self, port: int) -> None:
        from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
        from django.core.wsgi import get_wsgi_application

        class QuietHandler(WSGIRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # a log line per poll would be most of what is measured

        server = ThreadedWSGIServer(("127.0.0.1", port), QuietHandler)
        server.set_app(get_wsgi_application())
        server.serve_forever()


def measure(
    *,
    screens: int = 100,
    seconds: float = 60.0,
    interval: float = 1.0,
    hold: int = 20,
    database_url: str = "",
    server: str = "gunicorn",
    workers: int = 3,
    threads: int = 40,
    moves: int = 0,
    log: Callable[[str], object],
) -> list[BenchRow]:
    """Start the server, open `screens` idle screens for `seconds`, return CPU/memory rows.

    Without `database_url` the server runs on a temporary SQLite file.
    """
    # One log line per simulated poll would drown the result (and cost the driver CPU).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not Path("/proc/self/stat").exists():
        raise CommandError("This benchmark reads /proc: it runs on Linux only.")
    options = {
        "screens": screens,
        "seconds": seconds,
        "interval": interval,
        "hold": hold,
        "database_url": database_url,
        "server": server,
        "workers": workers,
        "threads": threads,
        "moves": moves,
    }
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        return IdleScreensBench(log).run(url, folder, options)


class IdleScreensBench:
    """The driver: prepares the database, runs the server, plays the screens, measures."""

    def __init__(self, log: Callable[[str], object]) -> None:
        self.log = log
        self.env: dict[str, str] = {}  # the server's environment, set by `run`

    def _environment(self, database_url: str, folder: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url,
            DJANGO_DEBUG="off",  # debug mode keeps every query in memory: not what runs live
            # Production settings otherwise, but plain HTTP on loopback, and the hashed static
            # files collected into the throwaway folder (pages name them).
            DJANGO_HTTPS="off",
            DJANGO_STATIC_ROOT=str(Path(folder) / "static"),
            DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(40),
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DJANGO_LOG_LEVEL="WARNING",
        )
        return env

    def _manage(self, env: dict[str, str], *args: str) -> str:
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        done = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
            [sys.executable, manage, *args], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise CommandError(f"manage.py {args[0]} failed:\n{done.stderr[-2000:]}")
        return done.stdout

    def run(self, database_url: str, folder: str, options: dict[str, Any]) -> list[BenchRow]:
        env = self._environment(database_url, folder)
        # Held polls, as dashboard/gunicorn.conf.py allows them: all threads but a few.
        env["LIVE_HOLD_MAX"] = str(hold_limit_for(options["threads"]) if options["hold"] else 0)
        password = secrets.token_urlsafe(16)
        self.log("Preparing the database and static files (migrate, collectstatic)…")
        self._manage(env, "migrate", "--noinput")
        if settings.STATIC_ROOT:  # (test settings serve static files where they are)
            self._manage(env, "collectstatic", "--noinput")
        self._manage(
            env,
            "shell",
            "-c",
            "from django.contrib.auth.models import User\n"
            f"u, _ = User.objects.get_or_create(username={BENCH_USER!r})\n"
            f"u.set_password({password!r}); u.save()",
        )
        if options["moves"]:
            self.log("Seeding demo leads for the board (seed_demo --leads 3000)…")
            self._manage(env, "seed_demo", "--leads", "3000", "--no-credentials")
        self.env = env
        port = free_port()
        server = subprocess.Popen(  # noqa: S603 - our own server command with fixed arguments
            self._server_command(port, options),
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            cookies = self._sign_in(base_url, password, server)
            return self._measure(base_url, cookies, server.pid, options)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()

    def _server_command(self, port: int, options: dict[str, Any]) -> list[str]:
        if options["server"] == "gunicorn":
            gunicorn = Path(sys.executable).parent / "gunicorn"
            if not gunicorn.exists():
                raise CommandError("gunicorn is not installed here; use --server django.")
            # As `bash dev.sh prod` runs it (its config: held polls, the page gate, the access
            # log). Keep-alive outlasts the poll interval, as a browser's connection to a
            # proxy does.
            return [
                str(gunicorn),
                "dashboard.wsgi",
                "--config",
                str(Path(settings.BASE_DIR) / "dashboard" / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(options["workers"]),
                "--threads",
                str(options["threads"]),
                "--keep-alive",
                str(int(options["interval"]) + 3),
                "--error-logfile",
                "-",
            ]
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        return [sys.executable, manage, "bench_idle_screens", "--serve-on", str(port)]

    def _sign_in(self, base_url: str, password: str, server: subprocess.Popen) -> dict[str, str]:
        deadline = time.monotonic() + 30
        with httpx.Client(base_url=base_url, timeout=10) as client:
            while True:
                if server.poll() is not None:
                    error = server.stderr.read().decode() if server.stderr else ""
                    raise CommandError(f"The server stopped: {error[-2000:]}")
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise CommandError("The server did not start within 30 seconds.")
                time.sleep(0.2)
            client.get("/login/")
            response = client.post(
                "/login/",
                data={
                    "username": BENCH_USER,
                    "password": password,
                    "csrfmiddlewaretoken": client.cookies["csrftoken"],
                },
            )
            if response.status_code != 302 or "sessionid" not in client.cookies:
                raise CommandError(f"Could not sign in ({response.status_code}).")
            return {"sessionid": client.cookies["sessionid"]}

    def _measure(
        self, base_url: str, cookies: dict[str, str], pid: int, options: dict[str, Any]
    ) -> list[BenchRow]:
        screens, seconds, interval = options["screens"], options["seconds"], options["interval"]
        vendor = "PostgreSQL" if options["database_url"].startswith("postgres") else "SQLite"
        pids = process_tree(pid)
        shape = (
            f"gunicorn, {options['workers']} workers × {options['threads']} threads"
            if options["server"] == "gunicorn"
            else "Django's threaded server"
        )
        # The floor: the same server with no screen open, measured just before they open.
        baseline = min(10.0, max(2.0, seconds / 6))
        rest_cpu, rest_pss = _at_rest(pids, baseline)
        self.log(
            f"{screens} idle screens polling /live/events every {interval:g} s "
            f"(held up to {options['hold']} s) for {seconds:g} s "
            f"({shape}, {len(pids)} processes, {vendor}; {baseline:g} s at rest before)…"
        )
        # Every screen opens and the workers warm up (imports, URL resolver, first queries)
        # before the window opens: the steady cost of idle screens is what is measured.
        # (Each screen's first poll goes through the session view: give a hundred of them time.)
        warmup = max(interval * 2, 3.0, screens * 0.1)
        samples: list[tuple[float, float, float]] = []

        def sample() -> None:
            samples.append((time.monotonic(), tree_cpu_seconds(pids), _pss_mb(pids)))

        # In a thread of its own: the caller may already run an event loop (a test process
        # that drives a browser does), and asyncio.run refuses to nest in one.
        spread = getattr(settings, "LIVE_REFRESH_SPREAD_MS", 500) / 1000
        moves = (options["moves"], self._move, spread) if options["moves"] else None
        with ThreadPoolExecutor(max_workers=1) as runner:
            tally, moved = runner.submit(
                asyncio.run,
                _screens(
                    base_url,
                    cookies,
                    screens,
                    (interval, options["hold"]),
                    warmup,
                    seconds,
                    sample,
                    moves,
                ),
            ).result()
        (t0, cpu0, _), (t1, cpu1, _) = samples[0], samples[-1]
        elapsed, cpu = t1 - t0, cpu1 - cpu0
        cpu_percent = [
            100 * (c1 - c0) / (u1 - u0)
            for (u0, c0, _), (u1, c1, _) in zip(samples, samples[1:], strict=False)
        ]
        sizes = [memory_kb(each) for each in pids]
        memory = {
            name: sum(size.get(name, 0) for size in sizes) for name in ("VmRSS", "VmHWM", "Pss")
        }
        polls = sum(tally.statuses.values())
        latencies = [latency * 1000 for latency in tally.latencies] or [0.0]
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(tally.statuses.items()))
        self.log(
            f"Polls: {polls} ({polls / elapsed:.1f}/s; {statuses}), errors: {tally.errors}, "
            f"latency p50 {statistics.median(latencies):.1f} ms, p95 {p95(latencies):.1f} ms"
        )
        per_poll = f"{cpu / polls * 1000:.2f} ms per poll" if polls else "no polls"
        self.log(
            f"Server CPU: {cpu:.2f} s over {elapsed:.1f} s "
            f"({100 * cpu / elapsed:.1f}% of one core; {per_poll})"
        )
        self.log(
            f"Server memory: RSS {memory['VmRSS'] / 1024:.1f} MB at the end, summed over the "
            f"processes (peak {memory['VmHWM'] / 1024:.1f} MB); "
            f"PSS {memory['Pss'] / 1024:.1f} MB (shared pages counted once)"
        )
        label = f"{screens} idle screens, {seconds:g} s"
        rows = [
            row(f"{label}: server CPU", "% core", cpu_percent, "no screen open", rest_cpu),
            row(
                f"{label}: server memory (PSS)",
                "MB",
                [pss for _, _, pss in samples],
                "no screen open",
                rest_pss,
            ),
            row(f"{label}: /live/events poll latency", "ms", latencies),
        ]
        if polls:
            rows.append(row(f"{label}: server CPU per poll", "ms", [cpu / polls * 1000]))
        if moved:
            changed, missing = board_latencies(tally.boards, moved, screens)
            times = changed or [0.0]
            self.log(
                f"{len(moved)} moves: every screen's board re-read {len(changed)} times of "
                f"{len(moved) * screens}, median {statistics.median(times):.0f} ms, "
                f"p95 {p95(times):.0f} ms, max {max(times):.0f} ms after the move"
                + (f"; {missing} never within {MOVE_GAP:g} s" if missing else "")
                + f"; load average {os.getloadavg()[0]:.2f}"
            )
            rows.append(row(f"{screens} screens: a move → each screen's new board", "ms", times))
        return rows

    def _move(self) -> float:
        """Move a new lead from another process; when it committed (epoch seconds)."""
        return float(self._manage(self.env, "shell", "-c", MOVE_ONE_LEAD).split()[-1])


def _pss_mb(pids: list[int]) -> float:
    """Memory of the server processes, shared pages counted once (PSS), in MB."""
    return sum(memory_kb(pid).get("Pss", 0) for pid in pids) / 1024


def _at_rest(pids: list[int], seconds: float) -> tuple[list[float], list[float]]:
    """CPU (% of a core, per second) and PSS (MB) of the server while nothing polls it."""
    cpu, pss = [], [_pss_mb(pids)]
    last_time, last_cpu = time.monotonic(), tree_cpu_seconds(pids)
    for _ in range(max(1, round(seconds))):
        time.sleep(seconds / max(1, round(seconds)))
        now, used = time.monotonic(), tree_cpu_seconds(pids)
        cpu.append(100 * (used - last_cpu) / (now - last_time))
        pss.append(_pss_mb(pids))
        last_time, last_cpu = now, used
    return cpu, pss
