"""Wall tokens never appear in full in a log (issue 12).

A wall link's token is its whole credential, and access logs travel further than the people
who may hand links out. These start the real servers — Django's runserver and gunicorn with
the configuration `bash dev.sh prod` uses — on a throwaway database, open a wall the way a
TV does, and read what they logged.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


# Each test migrates a database and starts a server in other processes, as the browser tests
# do: on a busy 2-core machine that outlasts the suite's 60 s, so they get the browser's 240 s.
pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def server_env(tmp_path_factory) -> dict[str, str]:
    database = tmp_path_factory.mktemp("logs") / "db.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "PYTHONUNBUFFERED": "1",
    }
    manage = [sys.executable, "manage.py"]
    migrate = [*manage, "migrate", "-v0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True, timeout=300)  # noqa: S603 - our manage.py
    issue = "from leads.models import WallLink; print(WallLink.issue('TV')[1])"
    out = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [*manage, "shell", "-c", issue],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        text=True,
        capture_output=True,
    ).stdout
    env["TEST_WALL_TOKEN"] = out.strip().splitlines()[-1]
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_and_read_log(command: list[str], port: int, env: dict[str, str], log: Path) -> str:
    """Start the server, open a wall as a TV does, stop the server; everything it logged."""
    token = env["TEST_WALL_TOKEN"]
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        server = subprocess.Popen(  # noqa: S603 - the project's own server command
            command, cwd=ROOT, env=env, stdout=out, stderr=out
        )
        try:
            wait_until_up(f"{base}/healthz", server)
            with httpx.Client(base_url=base, timeout=30) as tv:
                assert tv.get(f"/wall/{token}/").status_code == 200
                referer = {"Referer": f"{base}/wall/{token}/"}
                tv.get(f"/wall/{token}/events", headers=referer)
                tv.get(f"/wall/{token}/snapshot", headers=referer)
                assert tv.get(f"/wall/{token}x/").status_code == 404  # logged as "Not Found"
        finally:
            server.terminate()
            server.wait(timeout=30)
    return log.read_text()


def wait_until_up(url: str, server: subprocess.Popen) -> None:
    for _ in range(600):
        if server.poll() is not None:
            raise AssertionError(f"the server exited with {server.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


def assert_redacted(logged: str, token: str) -> None:
    assert "/wall/[redacted]/events" in logged, logged
    assert token[:12] not in logged, logged


def test_runserver_logs_wall_requests_with_the_token_redacted(server_env, tmp_path) -> None:
    port = free_port()
    command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]

    logged = serve_and_read_log(command, port, server_env, tmp_path / "runserver.log")

    assert "Not Found: /wall/[redacted]/" in logged
    assert_redacted(logged, server_env["TEST_WALL_TOKEN"])


def test_gunicorn_as_dev_sh_prod_runs_it_logs_wall_requests_redacted(server_env, tmp_path) -> None:
    assert "--config dashboard/gunicorn.conf.py" in (ROOT / "dev.sh").read_text()
    port = free_port()
    command = [
        str(BIN / "gunicorn"),
        "dashboard.wsgi",
        "--config",
        "dashboard/gunicorn.conf.py",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--threads",
        "2",
    ]

    logged = serve_and_read_log(command, port, server_env, tmp_path / "gunicorn.log")

    assert '"GET /wall/[redacted]/ HTTP/1.1" 200' in logged
    assert_redacted(logged, server_env["TEST_WALL_TOKEN"])
