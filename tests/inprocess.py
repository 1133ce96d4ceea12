"""The project's own /api/v2, served in process to an httpx client (an upstream for tests)."""

from collections.abc import Iterable
from typing import Any

import httpx
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

BASE_URL = "http://testserver/api/v2"


def wsgi_app() -> Any:
    """Django's WSGI app, minus closing DB connections at request boundaries.

    A test runs inside a transaction; closing the connection mid-test would throw it away.
    Django's own test client does the same.
    """
    handler = WSGIHandler()

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            result = handler(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                result.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return [body]

    return app


def wsgi_transport() -> httpx.WSGITransport:
    return httpx.WSGITransport(app=wsgi_app())


class Recorder(httpx.BaseTransport):
    """Passes requests to `inner` and keeps every answer, to replay them later."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.answers: dict[tuple[str, str], tuple[int, list[tuple[str, str]], bytes]] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        content = response.read()
        headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in {"content-length", "content-encoding"}
        ]
        self.answers[(request.method, str(request.url))] = (response.status_code, headers, content)
        return httpx.Response(response.status_code, headers=headers, content=content)

    def replay(self) -> httpx.MockTransport:
        """A transport answering the recorded requests, and counting what it serves."""
        answers = dict(self.answers)

        def handle(request: httpx.Request) -> httpx.Response:
            status, headers, content = answers[(request.method, str(request.url))]
            return httpx.Response(status, headers=headers, content=content)

        return httpx.MockTransport(handle)
