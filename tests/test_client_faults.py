"""The MoltFlow client when the network or the upstream misbehaves.

Every test drives the client through an injected `httpx.MockTransport`, with a fake clock
and sleep (nothing here waits), and a private in-memory cache.
"""

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from django.core.cache.backends.locmem import LocMemCache

from leads.client import MoltflowClient
from leads.pipeline import Status
from leads.services import Actor
from leads.sources.errors import (
    BadRequest,
    Forbidden,
    InvalidTransition,
    NotFound,
    RateLimited,
    Unavailable,
)
from leads.sources.moltflow import MoltflowSource
from leads.sources.records import LeadQuery

Handler = Callable[[httpx.Request], httpx.Response]
BASE = "https://moltflow.example/api/v2"


class FakeTime:
    """A clock that moves only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Upstream:
    """A scripted upstream: answers in order (the last one repeats), counting requests."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    @property
    def calls(self) -> int:
        return len(self.requests)


def make_client(upstream: Upstream, fake: FakeTime, **options: object) -> MoltflowClient:
    return MoltflowClient(
        BASE,
        "mf_test_key",
        http=httpx.Client(transport=httpx.MockTransport(upstream)),
        cache=LocMemCache(f"faults-{uuid.uuid4()}", {}),
        sleep=fake.sleep,
        clock=fake.clock,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def ok(body: object = None, **headers: str) -> httpx.Response:
    return httpx.Response(200, json={"ok": True} if body is None else body, headers=headers)


def error(status: int, detail: str = "nope", **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"detail": detail}, headers=headers)


def lead_json(**overrides: object) -> dict[str, object]:
    lead: dict[str, object] = {
        "id": str(uuid.uuid4()),
        "contact_phone": "+15550001111",
        "contact_name": "Dana",
        "lead_status": "new",
        "lead_score": 0,
        "lead_detected_at": "2026-11-25T08:00:00Z",
        "source_group": {"id": str(uuid.uuid4()), "name": "Group"},
        "trigger": {
            "matched_keyword": "price",
            "message_preview": "price?",
            "monitor_mode": "keywords",
            "detected_at": "2026-11-25T08:00:00Z",
        },
    }
    lead.update(overrides)
    return lead


# --- connection failures ------------------------------------------------------------------


def test_it_retries_a_refused_connection_and_then_answers(fake: FakeTime) -> None:
    upstream = Upstream(httpx.ConnectError("refused"), httpx.ConnectError("refused"), ok())
    client = make_client(upstream, fake)
    assert client.get("/leads", cached=False) == {"ok": True}
    assert upstream.calls == 3
    assert len(fake.sleeps) == 2
    assert all(0 < pause <= client.retry.backoff_cap for pause in fake.sleeps)


def test_it_gives_up_on_a_refused_connection_as_unavailable(fake: FakeTime) -> None:
    upstream = Upstream(httpx.ConnectError("refused"))
    client = make_client(upstream, fake)
    with pytest.raises(Unavailable) as failed:
        client.get("/leads", cached=False)
    assert upstream.calls == client.retry.max_attempts == 3
    assert "Cannot connect" in failed.value.detail
    assert failed.value.since == datetime.fromtimestamp(fake.now, UTC)  # when it gave up


def test_a_connect_timeout_is_retried_then_unavailable(fake: FakeTime) -> None:
    upstream = Upstream(httpx.ConnectTimeout("slow"))
    with pytest.raises(Unavailable, match="did not accept a connection"):
        make_client(upstream, fake).get("/leads", cached=False)
    assert upstream.calls == 3


def test_a_read_timeout_is_not_repeated(fake: FakeTime) -> None:
    upstream = Upstream(httpx.ReadTimeout("slow"), ok())
    with pytest.raises(Unavailable, match="did not answer within"):
        make_client(upstream, fake).get("/leads", cached=False)
    assert upstream.calls == 1


def test_a_post_is_repeated_only_when_it_never_reached_the_server(fake: FakeTime) -> None:
    refused = Upstream(httpx.ConnectError("refused"), ok())
    assert make_client(refused, fake).send("POST", "/custom-groups", {"name": "x"}) == {"ok": True}
    assert refused.calls == 2
    cut = Upstream(httpx.RemoteProtocolError("server disconnected"), ok())
    with pytest.raises(Unavailable):
        make_client(cut, fake).send("POST", "/custom-groups", {"name": "x"})
    assert cut.calls == 1


def test_the_outage_start_is_remembered_until_it_answers_again(fake: FakeTime) -> None:
    upstream = Upstream(error(500), error(500), ok())
    client = make_client(upstream, fake)
    with pytest.raises(Unavailable) as first:
        client.get("/leads", cached=False)
    fake.now += 60
    with pytest.raises(Unavailable) as second:
        client.get("/leads", cached=False)
    assert first.value.since == second.value.since is not None
    client.get("/leads", cached=False)
    assert client.rate_state().down_since is None


# --- 429 ------------------------------------------------------------------------------------


def test_a_429_is_retried_after_the_time_it_asks(fake: FakeTime) -> None:
    upstream = Upstream(error(429, "slow down", **{"Retry-After": "2"}), ok())
    assert make_client(upstream, fake).get("/leads", cached=False) == {"ok": True}
    assert upstream.calls == 2
    assert fake.sleeps == [2.0]


def test_a_429_retry_after_as_a_date_is_honoured(fake: FakeTime) -> None:
    when = format_datetime(datetime.fromtimestamp(fake.now + 3, UTC), usegmt=True)
    upstream = Upstream(error(429, **{"Retry-After": when}), ok())
    make_client(upstream, fake).get("/leads", cached=False)
    assert fake.sleeps == [3.0]


def test_repeated_429s_end_as_rate_limited(fake: FakeTime) -> None:
    upstream = Upstream(error(429, "slow down", **{"Retry-After": "1"}))
    with pytest.raises(RateLimited) as limited:
        make_client(upstream, fake).get("/leads", cached=False)
    assert upstream.calls == 3
    assert limited.value.retry_after == 1.0


def test_a_429_without_retry_after_backs_off_exponentially(fake: FakeTime) -> None:
    upstream = Upstream(error(429))
    client = make_client(upstream, fake, max_attempts=4)
    with pytest.raises(RateLimited):
        client.get("/leads", cached=False)
    assert upstream.calls == 4
    assert len(fake.sleeps) == 3
    # Each pause is at most its exponential step, jittered down to no less than half of it.
    for attempt, pause in enumerate(fake.sleeps):
        step = min(client.retry.backoff_cap, client.retry.backoff_base * 2**attempt)
        assert step / 2 <= pause <= step


def test_a_long_retry_after_is_not_waited_for(fake: FakeTime) -> None:
    upstream = Upstream(error(429, **{"Retry-After": "120"}), ok())
    client = make_client(upstream, fake)
    with pytest.raises(RateLimited) as limited:
        client.get("/leads", cached=False)
    assert (upstream.calls, fake.sleeps, limited.value.retry_after) == (1, [], 120.0)
    # Until the window resets, the client does not knowingly spend a request it lacks.
    with pytest.raises(RateLimited):
        client.get("/groups", cached=False)
    assert upstream.calls == 1
    fake.now += 121
    assert client.get("/groups", cached=False) == {"ok": True}


def test_a_spent_budget_waits_briefly_for_its_reset(fake: FakeTime) -> None:
    headers = {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"}
    upstream = Upstream(ok(**headers), ok())
    client = make_client(upstream, fake)
    client.get("/leads", cached=False)
    client.get("/groups", cached=False)
    assert fake.sleeps == [1.0]
    assert upstream.calls == 2


def test_a_spent_budget_far_from_reset_is_rate_limited_without_a_call(fake: FakeTime) -> None:
    headers = {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "40"}
    upstream = Upstream(ok(**headers))
    client = make_client(upstream, fake)
    client.get("/leads", cached=False)
    with pytest.raises(RateLimited) as limited:
        client.get("/groups", cached=False)
    assert upstream.calls == 1
    assert limited.value.retry_after == pytest.approx(40)
    assert client.rate_state().limit == 10


# --- 5xx ----------------------------------------------------------------------------------


def test_a_500_is_unavailable_at_once(fake: FakeTime) -> None:
    upstream = Upstream(error(500, "boom"))
    with pytest.raises(Unavailable) as failed:
        make_client(upstream, fake).get("/leads", cached=False)
    assert (upstream.calls, failed.value.status_code) == (1, 500)


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_gateway_error_on_a_get_is_retried(fake: FakeTime, status: int) -> None:
    upstream = Upstream(error(status), error(status), ok())
    assert make_client(upstream, fake).get("/leads", cached=False) == {"ok": True}
    assert upstream.calls == 3


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_gateway_error_that_persists_is_unavailable(fake: FakeTime, status: int) -> None:
    upstream = Upstream(error(status, **{"Retry-After": "1"}))
    with pytest.raises(Unavailable) as failed:
        make_client(upstream, fake).get("/leads", cached=False)
    assert (upstream.calls, failed.value.status_code) == (3, status)
    assert failed.value.retry_after == 1.0


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_write_is_never_repeated_after_a_server_error(
    fake: FakeTime, method: str, status: int
) -> None:
    upstream = Upstream(error(status), ok())
    with pytest.raises(Unavailable):
        make_client(upstream, fake).send(method, "/leads/bulk/status", {"status": "lost"})
    assert upstream.calls == 1
    assert fake.sleeps == []


# --- answers that are not what they should be -------------------------------------------


def test_an_html_error_page_is_unavailable(fake: FakeTime) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    upstream = Upstream(httpx.Response(502, text=page, headers={"Content-Type": "text/html"}))
    with pytest.raises(Unavailable) as failed:
        make_client(upstream, fake).get("/leads", cached=False)
    assert failed.value.status_code == 502


def test_an_html_page_with_200_is_unavailable(fake: FakeTime) -> None:
    upstream = Upstream(httpx.Response(200, text="<html>Log in to the Wi-Fi</html>"))
    with pytest.raises(Unavailable, match="not JSON"):
        make_client(upstream, fake).get("/leads", cached=False)


def test_truncated_json_is_unavailable(fake: FakeTime) -> None:
    upstream = Upstream(httpx.Response(200, content=b'{"leads": [{"id": "4f1'))
    with pytest.raises(Unavailable, match="not JSON"):
        make_client(upstream, fake).get("/leads", cached=False)


@pytest.mark.parametrize(
    "body",
    [
        {"leads": [lead_json()]},  # no total
        {"leads": [{k: v for k, v in lead_json().items() if k != "source_group"}], "total": 1},
        {"leads": [lead_json(lead_status="archived")], "total": 1},
        {"leads": [lead_json(lead_detected_at="yesterday")], "total": 1},
        {"leads": "none", "total": 0},
        [],
    ],
    ids=["no-total", "no-group", "unknown-status", "bad-date", "not-a-list", "array"],
)
def test_a_200_missing_fields_is_unavailable(fake: FakeTime, body: object) -> None:
    source = MoltflowSource(make_client(Upstream(ok(body)), fake))
    with pytest.raises(Unavailable, match="malformed"):
        source.list_leads(LeadQuery())


def test_a_lead_detail_missing_fields_is_unavailable(fake: FakeTime) -> None:
    source = MoltflowSource(make_client(Upstream(ok(lead_json())), fake))  # no session_id…
    with pytest.raises(Unavailable, match="malformed"):
        source.get_lead(uuid.uuid4())


# --- the mapping of refusals ---------------------------------------------------------------


def test_refusals_become_the_projects_own_errors(fake: FakeTime) -> None:
    def refusal(response: httpx.Response) -> Exception:
        with pytest.raises(Exception) as raised:
            make_client(Upstream(response), fake).send("PATCH", "/leads/x/status", {})
        return raised.value

    transition = refusal(error(400, "Invalid status transition: converted -> new"))
    assert isinstance(transition, InvalidTransition)
    assert (transition.current, transition.target) == ("converted", "new")
    assert isinstance(refusal(error(400, "The request body is not valid JSON.")), BadRequest)
    assert isinstance(refusal(error(404, "Lead x not found.")), NotFound)
    auth = refusal(error(401, "This API key has been revoked."))
    assert isinstance(auth, Forbidden) and auth.kind == "auth"
    scope = refusal(error(403, "lacks scope", **{"X-Required-Scopes": "leads:manage"}))
    assert isinstance(scope, Forbidden) and (scope.kind, scope.scope) == ("scope", "leads:manage")
    plan = refusal(error(403, "Bulk operations requires the Pro plan or above."))
    assert isinstance(plan, Forbidden) and plan.kind == "plan"
    limit = refusal(error(403, "The Starter plan allows 5 custom groups; upgrade the plan."))
    assert isinstance(limit, Forbidden) and limit.kind == "limit"
    validation = {"detail": [{"loc": ["body", "status"], "msg": "bad", "type": "enum"}]}
    assert isinstance(refusal(httpx.Response(422, json=validation)), BadRequest)


def test_a_wrong_base_url_is_unavailable_not_an_empty_list(fake: FakeTime) -> None:
    source = MoltflowSource(make_client(Upstream(error(404, "No such endpoint")), fake))
    with pytest.raises(Unavailable, match="MOLTFLOW_API_URL"):
        source.list_leads(LeadQuery())


# --- the shared cache ---------------------------------------------------------------------


def test_reads_are_shared_and_a_write_invalidates_them(fake: FakeTime) -> None:
    upstream = Upstream(ok({"n": 1}), ok({"moved": True}), ok({"n": 2}))
    client = make_client(upstream, fake)
    assert client.get("/leads", {"limit": 1}) == {"n": 1}
    assert client.get("/leads", {"limit": 1}) == {"n": 1}
    assert upstream.calls == 1
    client.send("PATCH", "/leads/x/status", {"status": "lost"})
    assert client.get("/leads", {"limit": 1}) == {"n": 2}
    assert upstream.calls == 3


def test_a_failure_is_remembered_briefly_so_screens_do_not_pile_on(fake: FakeTime) -> None:
    upstream = Upstream(error(500))
    client = make_client(upstream, fake)
    for _ in range(5):
        with pytest.raises(Unavailable):
            client.get("/leads")
    assert upstream.calls == 1


def test_twenty_screens_refreshing_at_once_make_one_upstream_call() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        time.sleep(0.05)  # the upstream takes a while; the other screens must wait for it
        return ok({"leads": []})

    upstream = Upstream(slow)
    client = MoltflowClient(
        BASE,
        "mf_test_key",
        http=httpx.Client(transport=httpx.MockTransport(upstream)),
        cache=LocMemCache(f"faults-{uuid.uuid4()}", {}),
    )
    start = threading.Barrier(20)
    answers: list[object] = []

    def screen() -> None:
        start.wait()
        answers.append(client.get("/leads", {"limit": 50}))

    threads = [threading.Thread(target=screen) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert answers == [{"leads": []}] * 20
    assert upstream.calls == 1


# --- streams ------------------------------------------------------------------------------


class BreaksMidway(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield b"id,contact_phone\r\n"
        raise httpx.ReadError("connection reset")


def test_an_export_that_breaks_midway_fails_before_the_download_starts(fake: FakeTime) -> None:
    upstream = Upstream(httpx.Response(200, stream=BreaksMidway()))
    source = MoltflowSource(make_client(upstream, fake))
    with pytest.raises(Unavailable, match="connection to MoltFlow failed"):
        source.export("csv", LeadQuery())


def test_an_export_refused_by_plan_fails_before_the_download(fake: FakeTime) -> None:
    upstream = Upstream(error(403, "Exporting leads requires the Pro plan or above."))
    with pytest.raises(Forbidden):
        MoltflowSource(make_client(upstream, fake)).export("json", LeadQuery())


def test_a_bulk_move_over_1000_leads_goes_in_batches(fake: FakeTime) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        first = body["lead_ids"][0]
        errors = [{"lead_id": first, "detail": "Invalid status transition: converted -> lost"}]
        return ok({"updated": len(body["lead_ids"]) - 1, "failed": 1, "errors": errors})

    upstream = Upstream(answer)
    lead_ids = [uuid.uuid4() for _ in range(1500)]
    outcome = MoltflowSource(make_client(upstream, fake)).bulk_change_status(
        lead_ids, Status.LOST, actor=Actor.system()
    )
    assert [len(json.loads(r.content)["lead_ids"]) for r in upstream.requests] == [1000, 500]
    assert len(outcome.updated) == 1498
    assert {failure.lead_id for failure in outcome.failed} == {lead_ids[0], lead_ids[1000]}
    assert {failure.current_status for failure in outcome.failed} == {Status.CONVERTED}


def test_times_are_read_with_their_zone(fake: FakeTime) -> None:
    body = {"leads": [lead_json(lead_detected_at="2026-11-25T10:00:00+02:00")], "total": 1}
    page = MoltflowSource(make_client(Upstream(ok(body)), fake)).list_leads(LeadQuery())
    assert page.rows[0].detected_at == datetime(2026, 11, 25, 8, tzinfo=UTC)
    assert page.rows[0].detected_at - datetime(2026, 11, 25, 8, tzinfo=UTC) == timedelta(0)


# --- an outage after good answers: the last good data, marked stale -----------------------


def test_during_an_outage_a_read_answers_with_the_last_good_data(fake: FakeTime) -> None:
    page = {"leads": [lead_json(contact_name="Dana")], "total": 1, "limit": 50, "offset": 0}
    upstream = Upstream(ok(page), error(500, "database on fire"))
    client = make_client(upstream, fake)
    source = MoltflowSource(client)
    assert source.health() is None
    assert source.list_leads(LeadQuery()).rows[0].contact_name == "Dana"

    fake.now += 10
    client.invalidate()  # as when the short cache has expired
    again = source.list_leads(LeadQuery())

    assert upstream.calls == 2
    assert again.rows[0].contact_name == "Dana"
    health = source.health()
    assert health is not None
    assert "500" in health.detail
    assert health.since == datetime.fromtimestamp(fake.now, UTC)


def test_a_read_never_answered_before_still_fails_during_an_outage(fake: FakeTime) -> None:
    upstream = Upstream(error(500, "database on fire"))
    source = MoltflowSource(make_client(upstream, fake))

    with pytest.raises(Unavailable):
        source.list_leads(LeadQuery())
    assert source.health() is not None


def test_the_outage_is_over_once_the_upstream_answers_again(fake: FakeTime) -> None:
    page = {"leads": [], "total": 0, "limit": 50, "offset": 0}
    upstream = Upstream(error(500), ok(page))
    client = make_client(upstream, fake)
    source = MoltflowSource(client)
    with pytest.raises(Unavailable):
        source.list_leads(LeadQuery())

    client.invalidate()
    source.list_leads(LeadQuery())

    assert source.health() is None


def test_while_it_is_down_a_read_is_one_short_probe(fake: FakeTime) -> None:
    upstream = Upstream(httpx.ConnectError("refused"))
    client = make_client(upstream, fake)
    with pytest.raises(Unavailable):
        client.get("/leads", cached=False)
    assert upstream.calls == client.retry.max_attempts

    with pytest.raises(Unavailable):
        client.get("/leads", cached=False)

    assert upstream.calls == client.retry.max_attempts + 1
    assert upstream.requests[-1].extensions["timeout"]["connect"] < client.timeout.connect
