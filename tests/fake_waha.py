"""A fake WAHA server on loopback: records every `POST /api/sendText` and can fail on cue."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeWaha:
    """What was sent (path, headers, JSON body) and how the next sends should answer."""

    url: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    fail_status: int | None = None  # answer every send with this status (e.g. 500)
    fail_body: str = ""


@contextmanager
def fake_waha() -> Iterator[FakeWaha]:
    state = FakeWaha()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server API)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            if state.fail_status is not None:
                answer, status = state.fail_body.encode(), state.fail_status
            else:
                state.sent.append({"path": self.path, "headers": dict(self.headers), "json": body})
                answer, status = json.dumps({"id": f"true_{len(state.sent)}"}).encode(), 201
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # quiet test output

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
