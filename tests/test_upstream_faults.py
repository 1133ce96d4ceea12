"""Every page and action in MoltFlow mode, under every upstream fault: never a 500, never a hang.

Each test runs against two upstreams: this project's own /api/v2 served in process (the
mirror), and a MoltFlow written from its documentation (tests/fake_moltflow.py), so that a
misreading the mirror shares with the client still fails. Either sits behind
`FaultyUpstream`, which breaks its answers as the network does; time is simulated, so "slow"
costs no real time. The source, client, middleware and views are the real ones.
"""

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.test import Client
from django.test.client import Client as DjangoClient

from leads.client import install_transport
from leads.models import Lead, WallLink
from leads.roles import MANAGER, set_user_role
from leads.sources.moltflow import MoltflowSource
from tests.factories import make_api_key, make_group, make_lead, make_session
from tests.fake_moltflow import API_KEY, FakeMoltflow
from tests.faults import DRIP_SECONDS, Fault, FaultyUpstream, SimulatedTime
from tests.inprocess import BASE_URL, wsgi_transport

pytestmark = pytest.mark.django_db

DEADLINE = 10


class MirrorStore:
    """The mirror's leads, read and changed in its database."""

    def status(self, lead_id: uuid.UUID) -> str:
        return Lead.objects.values_list("lead_status", flat=True).get(pk=lead_id)

    def update(self, lead_id: uuid.UUID, **fields: object) -> None:
        Lead.objects.filter(pk=lead_id).update(**fields)


@dataclass
class World:
    upstream: FaultyUpstream
    store: MirrorStore | FakeMoltflow
    time: SimulatedTime
    browser: DjangoClient
    dana: uuid.UUID  # new
    omar: uuid.UUID  # contacted
    wall_token: str


def _mirror(time: SimulatedTime) -> tuple[str, str, httpx.BaseTransport, MirrorStore, list]:
    _, raw_key = make_api_key()
    group = make_group(make_session(), name="Real Estate IL")
    dana = make_lead(group, name="Dana Levi")
    omar = make_lead(group, status="contacted", name="Omar Haddad")
    return BASE_URL, raw_key, wsgi_transport(), MirrorStore(), [dana.id, omar.id]


def _fake(time: SimulatedTime) -> tuple[str, str, httpx.BaseTransport, FakeMoltflow, list]:
    fake = FakeMoltflow(clock=time.clock)
    group = fake.add_group(fake.add_session(), "Real Estate IL")
    dana = fake.add_lead(group, name="Dana Levi")
    # Nulls the contract allows: no name, and a lead from a `first_message` group (no keyword).
    omar = fake.add_lead(group, name=None, phone="+972522222222", status="contacted", keyword=None)
    ids = [uuid.UUID(dana.id), uuid.UUID(omar.id)]
    return "https://apiv2.moltflow.test/api/v2", API_KEY, fake.transport(), fake, ids


@pytest.fixture(params=[_mirror, _fake], ids=["mirror", "documented-fake"])
def world(request: pytest.FixtureRequest, settings) -> Iterator[World]:
    time = SimulatedTime()
    base_url, raw_key, inner, store, (dana, omar) = request.param(time)
    settings.LEADS_SOURCE = "moltflow"
    settings.MOLTFLOW_API_URL = base_url
    settings.MOLTFLOW_API_KEY = raw_key
    settings.MOLTFLOW_DEADLINE_SECONDS = DEADLINE
    upstream = FaultyUpstream(inner, time)
    install_transport(upstream, clock=time.clock, sleep=time.sleep)
    cache.clear()
    manager = User.objects.create_user("mona", password="pw")
    set_user_role(manager, MANAGER)
    browser = Client()
    browser.force_login(manager)
    _, token = WallLink.issue("Sales floor")
    try:
        yield World(upstream, store, time, browser, dana, omar, token)
    finally:
        install_transport(None)
        cache.clear()


def _table(world: World) -> object:
    return world.browser.get("/leads/")


def _board(world: World) -> object:
    return world.browser.get("/leads/board/")


def _detail(world: World) -> object:
    return world.browser.get(f"/leads/{world.dana}/")


def _move(world: World) -> object:
    return world.browser.post(
        f"/leads/{world.dana}/status/", {"status": "contacted", "expected_status": "new"}
    )


def _bulk(world: World) -> object:
    ids = [str(world.dana), str(world.omar)]
    return world.browser.post(
        "/leads/bulk/", {"action": "status", "status": "lost", "lead": ids, "next": "/leads/"}
    )


def _export(world: World) -> object:
    return world.browser.get("/leads/export/csv/")


def _wall(world: World) -> object:
    return world.browser.get(f"/wall/{world.wall_token}/")


PAGES: dict[str, Callable[[World], object]] = {
    "table": _table,
    "board": _board,
    "detail": _detail,
    "move": _move,
    "bulk": _bulk,
    "export": _export,
    "wall": _wall,
}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("fault", list(Fault))
def test_no_page_or_action_fails_with_a_500_or_outlives_the_deadline(
    world: World, fault: Fault, page: str
) -> None:
    world.upstream.inject(fault)
    started = world.time.now

    response = PAGES[page](world)

    assert response.status_code in {200, 302, 503}, response.content[:500]
    # The whole request (every call, retry and pause) within one deadline; a drip overshoots
    # by at most the one byte that arrived after it.
    assert world.time.now - started <= DEADLINE + DRIP_SECONDS
    if response.status_code == 503:
        html = response.content.decode()
        assert "Retry-After" in response.headers
        assert "not answering" in html or "could not" in html.lower()


@pytest.mark.parametrize(
    "fault", [Fault.ERROR_500, Fault.REFUSED, Fault.INVALID_JSON, Fault.SLOW_DRIP]
)
def test_a_lead_never_opened_says_what_failed_and_when_to_retry(world: World, fault: Fault) -> None:
    world.upstream.inject(fault)

    response = world.browser.get(f"/leads/{world.dana}/")

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert "The lead source is not answering" in html
    assert "Try again in about" in html


@pytest.mark.parametrize("fault", [Fault.ERROR_500, Fault.TRUNCATED_JSON, Fault.SLOW])
def test_a_lead_opened_before_shows_its_last_good_data_marked_stale(
    world: World, fault: Fault
) -> None:
    assert world.browser.get(f"/leads/{world.dana}/").status_code == 200
    world.upstream.inject(fault)
    MoltflowSource.from_settings().client.invalidate()  # as when the short cache expires

    response = world.browser.get(f"/leads/{world.dana}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Dana Levi" in html
    assert "The lead source is not answering since" in html


def test_a_rate_limited_page_says_when_to_retry(world: World) -> None:
    world.upstream.inject(Fault.RATE_LIMITED)

    response = world.browser.get(f"/leads/{world.dana}/")

    assert response.status_code == 503
    assert response["Retry-After"] == "60"


@pytest.mark.parametrize("fault", [Fault.TRUNCATED_JSON, Fault.INVALID_JSON])
def test_a_broken_export_is_never_served_as_a_download(world: World, fault: Fault) -> None:
    world.upstream.inject(fault)

    response = world.browser.get("/leads/export/csv/")

    assert response.status_code == 503
    assert "attachment" not in response.get("Content-Disposition", "")


def test_the_export_is_rewritten_not_passed_through(world: World) -> None:
    world.store.update(world.dana, contact_name='=HYPERLINK("http://x")')

    response = world.browser.get("/leads/export/csv/")

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response.status_code == 200
    assert "'=HYPERLINK" in body
    assert str(world.omar) in body
    requested = [request.url.path for request in world.upstream.requests]
    assert "/api/v2/leads/export/json" in requested
    assert "/api/v2/leads/export/csv" not in requested


def test_a_slow_drip_is_cut_at_the_deadline_not_read_to_the_end(world: World) -> None:
    world.upstream.inject(Fault.SLOW_DRIP)
    started = world.time.now

    world.browser.get(f"/leads/{world.dana}/")

    # The lead's JSON is hundreds of bytes: read whole it would take ten minutes.
    assert DEADLINE <= world.time.now - started <= DEADLINE + DRIP_SECONDS


def test_the_healthy_upstream_serves_every_page(world: World) -> None:
    for page, action in PAGES.items():
        response = action(world)
        assert response.status_code in {200, 302}, page


# --- a change is shown as done only when confirmed ------------------------------------------

WRITES = {"PATCH", "POST"}


def _said(response: object) -> str:
    return " ".join(str(message) for message in get_messages(response.wsgi_request))


@pytest.mark.parametrize("fault", list(Fault))
def test_a_move_whose_answer_fails_says_what_really_happened(world: World, fault: Fault) -> None:
    world.upstream.inject(fault, methods=WRITES)

    response = _move(world)

    said = _said(response)
    assert response.status_code == 302
    if world.store.status(world.dana) == "contacted":
        assert said.startswith("Moved to contacted"), said
    else:
        assert said.startswith("Not moved"), said


@pytest.mark.parametrize("fault", [Fault.APPLIED_THEN_500, Fault.APPLIED_THEN_DROPPED])
def test_a_move_applied_upstream_is_confirmed_by_reading_it_back(
    world: World, fault: Fault
) -> None:
    world.upstream.inject(fault, methods=WRITES)

    said = _said(_move(world))

    assert world.store.status(world.dana) == "contacted"
    assert said.startswith("Moved to contacted — confirmed by reading the lead back"), said
    reads = [r for r in world.upstream.requests if r.method == "GET"]
    assert reads[-1].url.path == f"/api/v2/leads/{world.dana}"


def test_a_move_lost_before_it_applied_says_not_moved_and_where_the_lead_is(
    world: World,
) -> None:
    world.upstream.inject(Fault.DROPPED, methods=WRITES)

    said = _said(_move(world))

    assert world.store.status(world.dana) == "new"
    assert said == (
        "Not moved: MoltFlow's answer was lost (MoltFlow dropped the connection before "
        "answering.); read back, the lead is new."
    )


def test_a_move_that_cannot_be_read_back_is_not_confirmed_either_way(world: World) -> None:
    # Every answer is lost, the read-back's too: the lead did move, but nobody can know yet.
    world.upstream.inject(Fault.APPLIED_THEN_DROPPED)

    response = world.browser.post(f"/leads/{world.dana}/status/", {"status": "contacted"})

    said = _said(response)
    assert world.store.status(world.dana) == "contacted"
    assert said.startswith("Not confirmed: MoltFlow's answer to the move was lost"), said
    assert "Reload to see whether it moved." in said


def test_a_board_move_confirmed_after_a_lost_answer_lands_the_card(world: World) -> None:
    world.upstream.inject(Fault.APPLIED_THEN_500, methods=WRITES)

    response = world.browser.post(
        f"/leads/{world.dana}/status/",
        {"status": "contacted", "expected_status": "new"},
        headers={"HX-Request": "true", "HX-Target": "board-columns"},
    )

    assert response.status_code == 200
    assert "lead-moved" in response["HX-Trigger"]
    assert world.store.status(world.dana) == "contacted"


@pytest.mark.parametrize("fault", list(Fault))
def test_a_bulk_move_whose_answer_fails_counts_only_what_really_moved(
    world: World, fault: Fault
) -> None:
    world.upstream.inject(fault, methods=WRITES)

    said = _said(_bulk(world))

    moved = [world.store.status(world.dana), world.store.status(world.omar)].count("lost")
    if said.startswith("Nothing was changed"):
        assert moved == 0
    else:
        match = re.match(r"(\d+) (moved to|are) lost", said)
        assert match, said
        assert int(match.group(1)) == moved


def test_a_bulk_move_applied_upstream_is_confirmed_per_lead(world: World) -> None:
    world.store.update(world.omar, lead_status="converted")
    world.upstream.inject(Fault.APPLIED_THEN_DROPPED, methods=WRITES)

    said = _said(_bulk(world))

    assert world.store.status(world.dana) == "lost"
    assert said.startswith("1 are lost now, confirmed by reading them back"), said
    assert "1 not moved: converted is final" in said


def test_a_bulk_move_lost_before_it_applied_names_each_lead_still_where_it_was(
    world: World,
) -> None:
    world.upstream.inject(Fault.ERROR_500, methods=WRITES)

    said = _said(_bulk(world))

    assert [world.store.status(world.dana), world.store.status(world.omar)] == ["new", "contacted"]
    assert said.startswith("0 are lost now"), said
    assert "2 not moved: still new (1), still contacted (1)" in said


def test_a_bulk_move_that_cannot_be_read_back_lists_its_leads_as_not_confirmed(
    world: World,
) -> None:
    _table(world)  # the table was open while MoltFlow was healthy: its groups are cached
    # Then every answer is lost, the read-backs' too.
    world.upstream.inject(Fault.APPLIED_THEN_500)

    said = _said(_bulk(world))

    assert said.startswith("0 are lost now"), said
    assert "2 not confirmed" in said
    assert "Show the leads not moved" in said
