"""After a change every open board re-reads its columns, and every open table its rows: one
rendering per view, shared.

A hundred screens showing the same board (or table) at the same live token get the region
drawn once (leads.views.rendering.render_shared_region); a different query, role or "My
leads" person is a different view; each screen still gets its own CSRF token.
"""

import re
import threading

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads import services
from leads.assignments import lead_take
from leads.models import Lead
from leads.roles import MANAGER, REP, VIEWER
from leads.views.rendering import _render_once
from tests.factories import make_lead
from tests.people import person, signed_in

pytestmark = pytest.mark.django_db

BOARD = reverse("leads:board")
LIVE_REFRESH = {"HX-Request": "true", "HX-Target": "board-columns", "X-Live-Refresh": "1"}
TABLE = reverse("leads:table")
TABLE_REFRESH = {"HX-Request": "true", "HX-Target": "leads-results", "X-Live-Refresh": "1"}
LEADS_TABLE = connection.ops.quote_name(Lead._meta.db_table)
SYSTEM = services.Actor.system("test")


def refresh(client: Client, **query: str) -> tuple[str, int]:
    """A screen's live refresh of its columns: the HTML, and how many statements read leads."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(BOARD, query, headers=LIVE_REFRESH)
    assert response.status_code == 200
    assert "HX-Request" in response["Vary"]
    return response.content.decode(), sum(LEADS_TABLE in q["sql"] for q in queries)


def refresh_rows(client: Client, **query: str) -> tuple[str, int]:
    """An open table's live refresh of its rows, as `refresh` reads a board's columns."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(TABLE, query, headers=TABLE_REFRESH)
    assert response.status_code == 200
    return response.content.decode(), sum(LEADS_TABLE in q["sql"] for q in queries)


def csrf_value(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.fixture
def reps() -> list[User]:
    return [person(f"rep{n}", REP) for n in range(5)]


def test_screens_after_one_change_share_one_rendering(reps: list[User]) -> None:
    lead = make_lead(name="Dana Levi")
    screens = [signed_in(rep) for rep in reps]
    html, reads = refresh(screens[0])
    assert reads > 0 and "Dana Levi" in html
    for screen in screens[1:]:
        html, reads = refresh(screen)
        assert reads == 0  # the first screen's rendering, not a new one
        assert "Dana Levi" in html

    services.lead_change_status(lead.id, "contacted", SYSTEM)
    html, reads = refresh(screens[1])
    assert reads > 0  # a new token: drawn again, once
    assert re.search(rf'id="card-{lead.id}"\s+data-lead="{lead.id}" data-status="contacted"', html)
    assert [refresh(screen)[1] for screen in screens] == [0] * len(screens)


def test_each_screen_gets_its_own_csrf_token(reps: list[User]) -> None:
    lead = make_lead()
    screens = [signed_in(rep, enforce_csrf_checks=True) for rep in reps[:2]]
    for screen in screens:
        screen.get(BOARD)  # the page sets the screen's CSRF cookie
    first, _ = refresh(screens[0])
    second, reads = refresh(screens[1])
    assert reads == 0
    assert csrf_value(first) != csrf_value(second)
    move = {"status": "contacted", "expected_status": "new"}
    response = screens[1].post(
        reverse("leads:change-status", args=[lead.id]),
        {**move, "csrfmiddlewaretoken": csrf_value(second)},
    )
    assert response.status_code == 302  # the second screen's own token is accepted
    assert Lead.objects.get(pk=lead.pk).lead_status == "contacted"


def test_each_distinct_view_is_rendered_once(reps: list[User]) -> None:
    make_lead(name="Dana Levi")
    make_lead(name="Omer Katz")
    rep_a, rep_b = signed_in(reps[0]), signed_in(reps[1])
    assert refresh(rep_a)[1] > 0
    assert refresh(rep_a, q="dana")[1] > 0  # another query
    html, reads = refresh(rep_b, q="dana")
    assert reads == 0 and "Dana Levi" in html and "Omer Katz" not in html

    viewer = signed_in(person("val", VIEWER))
    html, reads = refresh(viewer)
    assert reads > 0  # another role: no moves on its cards
    assert "card__move" not in html
    assert "card__move" in refresh(rep_b)[0]


def test_my_leads_are_not_shared_between_people(reps: list[User]) -> None:
    mine = make_lead(name="Dana Levi")
    lead_take(mine.id, reps[0])
    html, _ = refresh(signed_in(reps[0]), owner="me")
    assert "Dana Levi" in html
    html, reads = refresh(signed_in(reps[1]), owner="me")
    assert reads > 0 and "Dana Levi" not in html


def test_a_persons_own_request_is_drawn_for_them(reps: list[User]) -> None:
    make_lead()
    screen = signed_in(reps[0])
    refresh(screen)
    with CaptureQueriesContext(connection) as queries:
        screen.get(BOARD, headers={"HX-Request": "true", "HX-Target": "board-columns"})
    assert any(LEADS_TABLE in q["sql"] for q in queries)


def test_open_tables_after_one_change_share_one_rendering_of_their_rows() -> None:
    lead = make_lead(name="Dana Levi")
    managers = [signed_in(person(f"boss{n}", MANAGER)) for n in range(3)]
    html, reads = refresh_rows(managers[0])
    assert reads > 0 and "Dana Levi" in html
    for screen in managers[1:]:
        shared, reads = refresh_rows(screen)
        assert reads == 0
        assert csrf_value(shared) != csrf_value(html)  # each screen's own bulk-form token

    services.lead_change_status(lead.id, "contacted", SYSTEM)
    html, reads = refresh_rows(managers[2])
    assert reads > 0
    assert f'id="lead-{lead.id}" data-status="contacted"' in html
    assert [refresh_rows(screen)[1] for screen in managers] == [0, 0, 0]


def test_a_table_is_shared_only_with_the_same_role_and_the_same_default_owner(
    reps: list[User],
) -> None:
    taken = make_lead(name="Dana Levi")
    make_lead(name="Omer Katz")
    manager = signed_in(person("boss", MANAGER))
    html, _ = refresh_rows(manager)
    assert 'type="checkbox" name="lead"' in html  # rows ticked for bulk actions

    html, reads = refresh_rows(signed_in(reps[0]))
    assert reads > 0  # another role: no bulk form
    assert 'type="checkbox" name="lead"' not in html and "Dana Levi" in html

    # A rep who owns leads starts from "My leads" without asking for it in the URL.
    lead_take(taken.id, reps[1])
    html, reads = refresh_rows(signed_in(reps[1]))
    assert reads > 0 and "Dana Levi" in html and "Omer Katz" not in html
    html, _ = refresh_rows(signed_in(reps[2]))
    assert "Omer Katz" in html  # owns none: everyone's leads, not the other rep's


def test_a_screen_waits_for_the_rendering_already_under_way() -> None:
    cache.add("view:rendering", 1)
    threading.Timer(0.2, cache.set, ("view", "<div>drawn once</div>")).start()
    assert _render_once("view", lambda: pytest.fail("drawn twice")) == "<div>drawn once</div>"


def test_a_screen_draws_its_own_when_the_other_rendering_failed() -> None:
    cache.add("view:rendering", 1)
    threading.Timer(0.2, cache.delete, ("view:rendering",)).start()
    assert _render_once("view", lambda: "<div>mine</div>") == "<div>mine</div>"
    assert cache.get("view") == "<div>mine</div>"  # and shares it
