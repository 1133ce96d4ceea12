"""A MoltFlow that misbehaves on cue: an in-process httpx transport injecting one fault.

It wraps a working upstream (the project's own /api/v2 in process, or any other transport)
and breaks its answers the way the real network does. Time is simulated: a slow answer
moves `SimulatedTime` forward instead of waiting, and a wait longer than the request's own
read timeout ends in `ReadTimeout` at that timeout, as a socket would.
"""

import enum
from collections.abc import Iterator

import httpx

from leads.bench import SimulatedTime


class Fault(enum.StrEnum):
    ERROR_500 = "500"
    DROPPED = "dropped"  # the connection closes before any answer
    REFUSED = "refused"
    RATE_LIMITED = "429"  # with Retry-After
    INVALID_JSON = "invalid-json"
    TRUNCATED_JSON = "truncated-json"
    SLOW = "slow"  # 12 s before the answer starts
    SLOW_DRIP = "slow-drip"  # one byte every 2 s
    APPLIED_THEN_500 = "applied-then-500"  # the change is made, the answer is a 500
    APPLIED_THEN_DROPPED = "applied-then-dropped"  # the change is made, the answer is lost


SLOW_SECONDS = 12.0
DRIP_SECONDS = 2.0
RETRY_AFTER_SECONDS = 60


class _Drip(httpx.SyncByteStream):
    def __init__(self, body: bytes, time: SimulatedTime, read_timeout: float | None) -> None:
        self.body, self.time, self.read_timeout = body, time, read_timeout

    def __iter__(self) -> Iterator[bytes]:
        for index in range(len(self.body)):
            if self.read_timeout is not None and DRIP_SECONDS > self.read_timeout:
                self.time.sleep(self.read_timeout)
                raise httpx.ReadTimeout("no byte within the read timeout")
            self.time.sleep(DRIP_SECONDS)
            yield self.body[index : index + 1]


class FaultyUpstream(httpx.BaseTransport):
    """`inner` with `fault` injected into every request (or only `methods`, when given)."""

    def __init__(self, inner: httpx.BaseTransport, time: SimulatedTime) -> None:
        self.inner = inner
        self.time = time
        self.fault: Fault | None = None
        self.methods: frozenset[str] | None = None
        self.requests: list[httpx.Request] = []

    def inject(self, fault: Fault | None, *, methods: set[str] | None = None) -> None:
        self.fault = fault
        self.methods = frozenset(methods) if methods else None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        fault = self.fault
        if fault is None or (self.methods is not None and request.method not in self.methods):
            return self._forward(request)
        read_timeout = request.extensions.get("timeout", {}).get("read")
        if fault is Fault.REFUSED:
            raise httpx.ConnectError("[Errno 111] Connection refused")
        if fault is Fault.DROPPED:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        if fault is Fault.ERROR_500:
            return httpx.Response(500, text="Internal Server Error")
        if fault is Fault.RATE_LIMITED:
            return httpx.Response(
                429,
                json={"detail": "Rate limit exceeded: 60 per 1 minute"},
                headers={
                    "Retry-After": str(RETRY_AFTER_SECONDS),
                    "X-RateLimit-Limit": "60",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(RETRY_AFTER_SECONDS),
                },
            )
        if fault is Fault.SLOW:
            if read_timeout is not None and SLOW_SECONDS > read_timeout:
                self.time.sleep(read_timeout)
                raise httpx.ReadTimeout("The read operation timed out")
            self.time.sleep(SLOW_SECONDS)
            return self._forward(request)
        answer = self._forward(request)
        if fault is Fault.INVALID_JSON:
            return _like(answer, b"<html><body>Bad gateway</body></html>")
        if fault is Fault.TRUNCATED_JSON:
            return _like(answer, answer.content[: max(1, len(answer.content) // 2)])
        if fault is Fault.SLOW_DRIP:
            return httpx.Response(
                answer.status_code,
                headers=_plain_headers(answer),
                stream=_Drip(answer.content, self.time, read_timeout),
            )
        if fault is Fault.APPLIED_THEN_500:
            return httpx.Response(500, text="Internal Server Error")
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    def _forward(self, request: httpx.Request) -> httpx.Response:
        answer = self.inner.handle_request(request)
        answer.read()
        return answer


def _plain_headers(answer: httpx.Response) -> list[tuple[str, str]]:
    skip = {"content-length", "content-encoding", "transfer-encoding"}
    return [(k, v) for k, v in answer.headers.multi_items() if k.lower() not in skip]


def _like(answer: httpx.Response, content: bytes) -> httpx.Response:
    return httpx.Response(answer.status_code, headers=_plain_headers(answer), content=content)
