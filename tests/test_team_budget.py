"""A rate budget for a whole team: one upstream call per read, deferred reads, and who sees it.

The upstream is an `httpx.MockTransport` (the process boundary); time is simulated.
"""

import io
import threading
import uuid

import httpx
import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.management import call_command

from leads.client import MoltflowClient
from leads.roles import MANAGER, REP
from tests.factories import make_group, make_lead, make_session
from tests.faults import SimulatedTime
from tests.people import person, signed_in

BASE = "https://moltflow.test/api/v2"


class Upstream:
    """Answers each GET with the call's number, and the budget it is told to report."""

    def __init__(self, remaining: int = 59) -> None:
        self.calls = 0
        self.remaining = remaining
        self.hold: threading.Event | None = None  # when set, the next call waits on it
        self.entered = threading.Event()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        number = self.calls
        hold, self.hold = self.hold, None
        if hold is not None:
            self.entered.set()
            hold.wait(5)
        headers = {
            "X-RateLimit-Limit": "60",
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": "60",
        }
        return httpx.Response(200, json={"call": number}, headers=headers)


@pytest.fixture
def time() -> SimulatedTime:
    return SimulatedTime()


def processes(upstream: Upstream, time: SimulatedTime) -> tuple[MoltflowClient, MoltflowClient]:
    """Two app processes: their own clients over one shared cache."""
    cache = LocMemCache(f"team-{uuid.uuid4()}", {})
    http = httpx.Client(transport=httpx.MockTransport(upstream))
    return tuple(  # type: ignore[return-value]
        MoltflowClient(BASE, "mf_key", http=http, cache=cache, clock=time.clock, sleep=time.sleep)
        for _ in range(2)
    )


def test_a_read_in_flight_elsewhere_answers_with_its_last_data_instead_of_calling(
    time: SimulatedTime,
) -> None:
    upstream = Upstream()
    first, second = processes(upstream, time)
    assert first.get("/leads") == {"call": 1}
    time.sleep(6)  # past the cache period: the next read fetches again
    release = upstream.hold = threading.Event()
    fetching = threading.Thread(target=first.get, args=("/leads",))
    fetching.start()
    assert upstream.entered.wait(5)

    answer = second.get("/leads")

    release.set()
    fetching.join(5)
    assert answer == {"call": 1}  # the last data, at once
    assert upstream.calls == 2  # the second process did not call
    assert second.get("/leads") == {"call": 2}  # and then the fetch's answer


def test_with_the_budget_short_a_read_with_data_waits_for_the_reset(time: SimulatedTime) -> None:
    upstream = Upstream(remaining=8)  # at or under the reserve of 10 for 60 a minute
    client, _ = processes(upstream, time)
    assert client.get("/leads") == {"call": 1}
    time.sleep(6)

    assert client.get("/leads") == {"call": 1}  # deferred: no request spent
    assert upstream.calls == 1
    time.sleep(60)  # the window reset
    assert client.get("/leads") == {"call": 2}


def test_with_the_budget_short_a_read_after_a_change_still_fetches(time: SimulatedTime) -> None:
    upstream = Upstream(remaining=8)
    client, _ = processes(upstream, time)
    client.get("/leads")
    client.invalidate()  # what a move does: the person must see their own change

    assert client.get("/leads") == {"call": 2}


def test_with_budget_to_spare_an_aged_read_fetches_again(time: SimulatedTime) -> None:
    upstream = Upstream(remaining=30)
    client, _ = processes(upstream, time)
    client.get("/leads")
    time.sleep(6)

    assert client.get("/leads") == {"call": 2}


def test_counts_and_group_lists_stay_fresh_longer_than_pages(time: SimulatedTime) -> None:
    upstream = Upstream()
    client, _ = processes(upstream, time)
    client.get("/groups", fresh_for=30)
    time.sleep(6)  # a page would be fetched again now

    assert client.get("/groups", fresh_for=30) == {"call": 1}
    time.sleep(25)
    assert client.get("/groups", fresh_for=30) == {"call": 2}


@pytest.mark.django_db
def test_managers_see_the_remaining_budget_and_reps_do_not(moltflow) -> None:
    make_lead(make_group(make_session(), name="Real Estate IL"), name="Dana Levi")
    manager = signed_in(person("mona", MANAGER)).get("/leads/").text
    rep = signed_in(person("rick", REP)).get("/leads/").text

    assert 'id="source-budget"' in manager
    assert "requests left" in manager
    assert 'id="source-budget"' not in rep


@pytest.mark.django_db
def test_the_local_store_shows_no_budget() -> None:
    page = signed_in(person("mona", MANAGER)).get("/leads/").text

    assert 'id="source-budget"' not in page


@pytest.mark.django_db(transaction=True)
def test_a_team_browsing_under_the_plans_limit_meets_no_429_and_no_5xx() -> None:
    out = io.StringIO()

    call_command("simulate_team", users=4, minutes=1, limit=12, leads=20, stdout=out)

    report = out.getvalue()
    assert "pages served: " in report
    assert "(0 answered 5xx)" in report  # pages
    assert "(0 answered 429, 0 5xx)" in report  # upstream
