"""The pipeline board: columns, cards, lazy loading, and moving cards through the one endpoint."""

import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads.models import Lead, LeadStatusChange, MonitoredGroup, build_search_text
from leads.templatetags.leads_ui import time_tag
from leads.waiting import short_age
from tests.contract import ALL_STATUSES, ALLOWED_MOVES
from tests.factories import make_group, make_lead

HTMX = {"HX-Request": "true"}
BOARD = "/leads/board/"
STATUSES = ALL_STATUSES
ALL_PAIRS = [(current, target) for current in STATUSES for target in STATUSES]

# SQL statements for a whole board page, whatever the number of leads: session, user and role
# (3), the live-updates position in the page header (1), the account's plan (1), the groups
# for the filter (1), the counts per status (1), one page per column (5) and the cards' owners
# and follow-ups for every column at once (2).
BOARD_QUERY_BUDGET = 14


def with_role(user: User, role: str) -> User:
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def teammate(db: None) -> User:
    """A rep: reads the board and moves leads one at a time."""
    return with_role(User.objects.create_user("bob", password="pw"), "rep")


@pytest.fixture
def client_in(teammate: User) -> Client:
    client = Client()
    client.force_login(teammate)
    return client


def status_url(lead: Lead) -> str:
    return reverse("leads:change-status", args=[lead.id])


def column_html(body: str, status: str) -> str:
    """The markup of one column, up to the next one."""
    start = body.index(f'id="column-{status}"')
    following = [body.find(f'id="column-{other}"', start + 1) for other in STATUSES]
    ends = [index for index in following if index > start]
    return body[start : min(ends)] if ends else body[start:]


def card_ids(html: str) -> list[str]:
    return re.findall(r'<li class="card[^"]*" id="card-([0-9a-f-]+)"', html)


def board_move(client: Client, lead: Lead, target: str, **extra: str) -> object:
    """A move as a card button (htmx) sends it: expected status and the board's state."""
    data = {"status": target, "expected_status": lead.lead_status, "board_query": ""}
    data.update(extra)
    return client.post(status_url(lead), data, headers={**HTMX, "HX-Target": "board-columns"})


# --- The page and its regions -------------------------------------------------------------


def test_it_requires_login(db: None) -> None:
    response = Client().get(BOARD)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_it_shows_five_columns_with_counts_and_cards_newest_first(client_in: Client) -> None:
    group = make_group(name="Real Estate IL")
    now = timezone.now()
    older = make_lead(group, name="Older Olga", detected_at=now - timedelta(hours=3))
    newer = make_lead(group, name="Newer Nadia", detected_at=now - timedelta(minutes=4))
    make_lead(group, status="qualified", name="Quinn", detected_at=now - timedelta(days=2))
    response = client_in.get(BOARD)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body
    assert "HX-Request" in response["Vary"]
    for status in STATUSES:
        assert f'id="column-{status}"' in body
    assert 'id="count-new" aria-label="2 leads">2<' in body
    assert 'id="count-qualified" aria-label="1 lead">1<' in body
    assert 'id="count-lost" aria-label="0 leads">0<' in body
    assert card_ids(column_html(body, "new")) == [str(newer.id), str(older.id)]
    qualified = column_html(body, "qualified")
    # Ages for the last day, a date before that: the way every page shows a moment.
    two_days_ago = time_tag(now - timedelta(days=2), now)
    assert "Quinn" in qualified and two_days_ago[two_days_ago.index(">") :] in qualified
    new_column = column_html(body, "new")
    assert "4 min ago" in new_column and "3 h ago" in new_column
    assert "Real Estate IL" in new_column and '“<span dir="auto">price</span>”' in new_column


def test_the_columns_region_alone_for_htmx(client_in: Client) -> None:
    make_lead(name="Dana Levi")
    response = client_in.get(BOARD, headers={**HTMX, "HX-Target": "board-columns"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="board-columns"')
    assert "Dana Levi" in body
    assert "HX-Request" in response["Vary"]


def test_a_boosted_or_history_request_gets_the_whole_page(client_in: Client) -> None:
    response = client_in.get(
        BOARD, headers={**HTMX, "HX-Target": "board-columns", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in response.content.decode()


def test_it_rejects_post(client_in: Client) -> None:
    assert client_in.post(BOARD).status_code == 405


def test_the_columns_refresh_themselves_on_live_updates(client_in: Client) -> None:
    body = client_in.get(BOARD, {"q": "dana", "shown_new": "40"}).content.decode()
    trigger = re.search(r"<span data-board-refresh [^>]*>", body)
    assert trigger is not None
    assert 'hx-trigger="leads-changed from:body' in trigger.group(0)
    assert 'hx-get="/leads/board/?q=dana&amp;shown_new=40"' in trigger.group(0)
    assert 'hx-target="#board-columns"' in trigger.group(0)


def test_filters_apply_to_every_column_and_count(client_in: Client) -> None:
    wanted = make_group(name="Wanted")
    other = make_group(name="Other")
    make_lead(wanted, name="Dana Levi")
    make_lead(wanted, name="Dan Cohen", status="contacted")
    make_lead(other, name="Dana Other", status="contacted")
    body = client_in.get(BOARD, {"group": str(wanted.id), "q": "dan"}).content.decode()
    assert 'id="count-new" aria-label="1 lead">1<' in body
    assert 'id="count-contacted" aria-label="1 lead">1<' in body
    assert "Dana Other" not in body


def test_a_searched_board_counts_each_column_up_to_the_cap_and_says_so(
    client_in: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("leads.views.board.COUNT_CAP", 3)
    make_many(5, "new")  # every one is "Lead N", so "lead" matches them all
    make_many(3, "contacted")
    make_many(2, "lost")
    searched = client_in.get(BOARD, {"q": "lead"}).content.decode()
    assert 'id="count-new" aria-label="more than 3 leads">3+<' in searched
    assert 'id="count-contacted" aria-label="3 leads">3<' in searched  # exactly the cap
    assert 'id="count-lost" aria-label="2 leads">2<' in searched
    # Unsearched, the kept totals answer: exact, whatever the cap.
    plain = client_in.get(BOARD).content.decode()
    assert 'id="count-new" aria-label="5 leads">5<' in plain


def test_switching_to_the_table_keeps_the_filters(client_in: Client) -> None:
    group = make_group()
    body = client_in.get(BOARD, {"q": "dana", "group": str(group.id), "shown_new": "40"})
    html = body.content.decode()
    assert f'href="/leads/?q=dana&amp;group={group.id}">Show as table</a>' in html
    table = client_in.get("/leads/", {"q": "dana", "group": str(group.id), "page": "2"})
    assert f'href="/leads/board/?q=dana&amp;group={group.id}"' in table.content.decode()


# --- Cards -----------------------------------------------------------------------------------


def test_a_new_lead_waiting_too_long_is_flagged(client_in: Client, settings: object) -> None:
    settings.LEADS_WAITING_THRESHOLD_MINUTES = 15  # type: ignore[attr-defined]
    now = timezone.now()
    late = make_lead(name="Late", detected_at=now - timedelta(minutes=20))
    fresh = make_lead(name="Fresh", detected_at=now - timedelta(minutes=5))
    handled = make_lead(name="Handled", status="contacted", detected_at=now - timedelta(hours=2))
    body = client_in.get(BOARD).content.decode()
    assert f'<li class="card card--waiting" id="card-{late.id}"' in body
    assert f'<li class="card" id="card-{fresh.id}"' in body
    assert f'<li class="card" id="card-{handled.id}"' in body
    assert body.count("waiting for contact") == 1


def test_the_threshold_is_a_setting(client_in: Client, settings: object) -> None:
    settings.LEADS_WAITING_THRESHOLD_MINUTES = 60  # type: ignore[attr-defined]
    lead = make_lead(detected_at=timezone.now() - timedelta(minutes=20))
    body = client_in.get(BOARD).content.decode()
    assert f'<li class="card" id="card-{lead.id}"' in body


def menu_html(body: str, status: str) -> str:
    """The Move menu board.js copies into a card of `status` when it opens."""
    match = re.search(
        rf'<template data-card-menu="move" data-status="{status}">(.*?)</template>', body, re.S
    )
    return match.group(1) if match else ""


def test_cards_offer_only_allowed_moves_and_lost_to_new_reads_reopen(client_in: Client) -> None:
    leads = {status: make_lead(status=status, name=f"Lead {status}") for status in STATUSES}
    body = client_in.get(BOARD).content.decode()
    stand_in = re.search(r'id="card-menus" hidden data-stand-in="([0-9a-f-]+)"', body)
    assert stand_in is not None
    for status, lead in leads.items():
        card = column_html(body, status)
        offered = set(re.findall(rf'id="move-{stand_in.group(1)}-(\w+)"', menu_html(body, status)))
        assert offered == {target for current, target in ALLOWED_MOVES if current == status}
        allowed = re.search(rf'id="card-{lead.id}"[^>]*data-allowed="([^"]*)"', card)
        assert allowed is not None
        assert set(allowed.group(1).split()) == offered
        # The card opens the menu of its status; its forms are not drawn on it.
        assert ('data-card-menu="move"' in card) == bool(offered)
        assert 'method="post"' not in card
        assert f'value="{status}"' in menu_html(body, status) or not offered  # expected_status
    lost = menu_html(body, "lost")
    assert re.search(r'value="new"[^>]*>Reopen</button>', lost)
    assert "is final" in column_html(body, "converted")
    # Lost asks why: a reason box in its own form, with the move as its only button.
    assert 'name="reason"' in menu_html(body, "qualified")
    assert 'name="reason"' not in lost


def test_card_menus_are_drawn_once_per_board_not_per_card(client_in: Client) -> None:
    for index in range(12):
        make_lead(status="new", name=f"Lead {index}")
    body = client_in.get(BOARD).content.decode()
    assert body.count('data-card-menu="move" data-status="new">') == 1
    assert body.count('<template data-card-menu="follow-up">') == 1
    assert body.count('<details class="card__move" data-card-menu="move">') == 12
    assert body.count("data-menu-fallback") == 24  # each menu links to the lead's page


def test_a_card_opens_the_lead_panel(client_in: Client) -> None:
    lead = make_lead(name="Dana Levi")
    body = client_in.get(BOARD).content.decode()
    link = re.search(rf'<a href="/leads/{lead.id}/\?next=[^"]*" id="card-link-[^>]*>', body)
    assert link is not None
    assert 'hx-target="#lead-panel"' in link.group(0)
    assert '<aside id="lead-panel"' in body
    panel = client_in.get(
        f"/leads/{lead.id}/", {"next": BOARD}, headers={**HTMX, "HX-Target": "lead-panel"}
    )
    assert panel.content.decode().lstrip().startswith('<aside id="lead-panel"')


def test_hostile_names_are_escaped(client_in: Client) -> None:
    group = make_group(name="<img src=x onerror=alert(1)>")
    make_lead(group, name="<script>alert(1)</script>", keyword='"><b>kw</b>')
    body = client_in.get(BOARD).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "<img src=x" not in body
    assert "<b>kw</b>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_short_ages() -> None:
    now = timezone.now()
    assert short_age(now - timedelta(seconds=30), now) == "30 s"
    assert short_age(now - timedelta(minutes=4, seconds=59), now) == "4 min"
    assert short_age(now - timedelta(hours=3, minutes=10), now) == "3 h"
    assert short_age(now - timedelta(days=2, hours=5), now) == "2 d"
    assert short_age(now + timedelta(seconds=5), now) == "0 s"


def test_a_card_is_compact_and_its_number_is_on_the_lead_page_unmasked(client_in: Client) -> None:
    # Compact cards (issue 15): name, group, keyword and age; the number is one click away on
    # the lead page. The board is behind a login, so nothing is masked anywhere (the wall, a
    # shared screen, masks numbers; see test_wall).
    lead = make_lead(name="Dana", phone="+15550123456")

    body = client_in.get(BOARD).content.decode()
    card = body.split(f'id="card-{lead.id}"')[1].split("</li>")[0]

    assert "Dana" in card and "price" in card
    assert "card__phone" not in card and "555" not in card
    assert "•" not in body
    assert "+1 555-012-3456" in client_in.get(f"/leads/{lead.id}/").content.decode()


# --- Lazy loading per column -----------------------------------------------------------------


def make_many(count: int, status: str, group: MonitoredGroup | None = None) -> list[Lead]:
    """`count` leads in one status, newest first, in one INSERT."""
    group = group or make_group()
    now = timezone.now()
    leads = []
    for index in range(count):
        phone = f"+1666{uuid.uuid4().int % 10**7:07d}"
        name = f"Lead {status} {index}"
        leads.append(
            Lead(
                source_group=group,
                contact_jid=f"{uuid.uuid4().hex}@lid",
                contact_phone=phone,
                contact_name=name,
                lead_status=status,
                matched_keyword="price",
                lead_detected_at=now - timedelta(minutes=index + 1),
                search_text=build_search_text(name, phone, "price"),
            )
        )
    return Lead.objects.bulk_create(leads, batch_size=1000)


def test_a_column_shows_a_page_and_loads_more(client_in: Client) -> None:
    leads = make_many(25, "new")
    newest_ids = [str(lead.id) for lead in leads]
    body = client_in.get(BOARD).content.decode()
    column = column_html(body, "new")
    assert card_ids(column) == newest_ids[:20]
    assert 'id="count-new" aria-label="25 leads">25<' in body
    more = re.search(
        r'<li class="load-more" id="more-new">\s*<a href="([^"]+)" hx-get="([^"]+)"', column
    )
    assert more is not None
    assert more.group(1) == more.group(2) == "/leads/board/?shown_new=40"
    # htmx appends only the next cards, and hands over the board's new state.
    response = client_in.get(BOARD, {"shown_new": "40"}, headers={**HTMX, "HX-Target": "more-new"})
    fragment = response.content.decode()
    assert "<html" not in fragment
    assert card_ids(fragment) == newest_ids[20:]
    assert 'id="more-new"' not in fragment  # nothing left to load
    assert '<div id="board-state" hidden hx-swap-oob="true">' in fragment
    assert 'value="shown_new=40"' in fragment
    assert "HX-Request" in response["Vary"]
    # Without JavaScript the link is the whole board with the longer column.
    plain = client_in.get(BOARD, {"shown_new": "40"}).content.decode()
    assert card_ids(column_html(plain, "new")) == newest_ids


def test_a_junk_or_huge_shown_count_is_tamed(client_in: Client) -> None:
    make_many(3, "new")
    assert client_in.get(BOARD, {"shown_new": "abc"}).status_code == 200
    body = client_in.get(BOARD, {"shown_new": "999999999"}).content.decode()
    assert "shown_new=500" in body


# 200 a column is ten pages of cards: enough for a per-row or per-page query to show.
@pytest.mark.parametrize("per_column", [5, 200])
def test_the_query_budget_does_not_grow_with_the_leads(
    client_in: Client, django_assert_max_num_queries: object, per_column: int
) -> None:
    group = make_group()
    for status in STATUSES:
        make_many(per_column, status, group)
    client_in.get(BOARD)  # the first request of all creates the account row
    with django_assert_max_num_queries(BOARD_QUERY_BUDGET):  # type: ignore[operator]
        response = client_in.get(BOARD)
    assert response.status_code == 200
    assert (
        f'id="count-new" aria-label="{per_column} leads">{per_column}<' in response.content.decode()
    )


# --- Moving cards ----------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_every_move_from_the_board_obeys_the_pipeline(
    client_in: Client, current: str, target: str
) -> None:
    lead = make_lead(status=current, name="Dana Levi")
    response = board_move(client_in, lead, target)
    body = response.content.decode()
    allowed = (current, target) in ALLOWED_MOVES
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="board-columns"')
    assert "HX-Request" in response["Vary"]
    now_in = target if allowed else current
    assert Lead.objects.get(pk=lead.pk).lead_status == now_in
    assert LeadStatusChange.objects.filter(lead=lead).count() == (1 if allowed else 0)
    # The card is drawn in the column the lead really is in, and counted there.
    assert str(lead.id) in card_ids(column_html(body, now_in))
    assert f'id="count-{now_in}" aria-label="1 lead">1<' in body
    if allowed:
        assert "lead-moved" in response["HX-Trigger"]
        assert f"Moved to {target}." in body
    else:
        assert "lead-move-refused" in response["HX-Trigger"]
        assert "Not moved:" in body


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_every_move_without_javascript_returns_to_the_board(
    client_in: Client, current: str, target: str
) -> None:
    lead = make_lead(status=current)
    next_url = f"{BOARD}?q=dana&shown_new=40"
    response = client_in.post(
        status_url(lead), {"status": target, "expected_status": current, "next": next_url}
    )
    assert response.status_code == 302
    assert response["Location"] == next_url
    allowed = (current, target) in ALLOWED_MOVES
    assert Lead.objects.get(pk=lead.pk).lead_status == (target if allowed else current)


def test_a_move_keeps_the_cards_the_screen_had_loaded(client_in: Client) -> None:
    leads = make_many(30, "new")
    response = board_move(client_in, leads[0], "contacted", board_query="shown_new=40&q=lead")
    body = response.content.decode()
    assert len(card_ids(column_html(body, "new"))) == 29
    assert 'value="shown_new=40&amp;q=lead"' in body or 'value="q=lead&amp;shown_new=40"' in body


def test_a_stale_move_is_refused_saying_who_moved_it_and_when(client_in: Client) -> None:
    lead = make_lead(name="Dana Levi")
    dana = Client()
    dana.force_login(with_role(User.objects.create_user("Dana", password="pw"), "rep"))
    dana.post(status_url(lead), {"status": "qualified", "expected_status": "new"})
    LeadStatusChange.objects.filter(lead=lead).update(
        changed_at=timezone.now() - timedelta(seconds=30)
    )
    # This screen still shows the card under "new" and drops it on "contacted".
    response = board_move(client_in, lead, "contacted", expected_status="new")
    body = response.content.decode()
    assert "moved to qualified 30 s ago by Dana" in body
    assert "lead-move-refused" in response["HX-Trigger"]
    assert str(lead.id) in card_ids(column_html(body, "qualified"))
    assert str(lead.id) not in card_ids(column_html(body, "new"))
    assert Lead.objects.get(pk=lead.pk).lead_status == "qualified"


def test_lost_keeps_the_reason_in_the_history(client_in: Client) -> None:
    lead = make_lead(status="contacted")
    board_move(client_in, lead, "lost", reason="  Bought  elsewhere ")
    change = LeadStatusChange.objects.get(lead=lead)
    assert (change.from_status, change.to_status) == ("contacted", "lost")
    assert change.reason == "Bought elsewhere"
    assert change.user.username == "bob"
    assert (
        '(<span dir="auto">Bought elsewhere</span>)'
        in client_in.get(f"/leads/{lead.id}/").content.decode()
    )


def test_a_long_reason_is_cut_short(client_in: Client) -> None:
    lead = make_lead()
    board_move(client_in, lead, "lost", reason="x" * 1000)
    assert len(LeadStatusChange.objects.get(lead=lead).reason) == 200


def test_moving_an_unknown_lead_is_404(client_in: Client) -> None:
    response = client_in.post(
        f"/leads/{uuid.uuid4()}/status/",
        {"status": "contacted"},
        headers={**HTMX, "HX-Target": "board-columns"},
    )
    assert response.status_code == 404


def test_the_move_endpoint_rejects_get(client_in: Client) -> None:
    lead = make_lead()
    response = client_in.get(status_url(lead), headers={**HTMX, "HX-Target": "board-columns"})
    assert response.status_code == 405


def test_a_move_needs_a_csrf_token(teammate: User) -> None:
    lead = make_lead()
    client = Client(enforce_csrf_checks=True)
    client.force_login(teammate)
    response = client.post(
        status_url(lead),
        {"status": "contacted", "expected_status": "new"},
        headers={**HTMX, "HX-Target": "board-columns"},
    )
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).lead_status == "new"


def test_the_card_menus_carry_a_csrf_token_and_the_board_state(client_in: Client) -> None:
    make_lead()
    body = client_in.get(BOARD, {"q": "dana"}).content.decode()
    menu = menu_html(body, "new")  # what a card of the new column gets when its menu opens
    assert 'name="csrfmiddlewaretoken"' in menu
    assert 'name="expected_status" value="new"' in menu
    assert 'hx-include="#board-state"' in menu
    assert 'name="next" value="/leads/board/?q=dana"' in menu


# --- Phones ------------------------------------------------------------------------------------


def test_a_phone_shows_one_column_picked_by_the_switcher(client_in: Client) -> None:
    body = client_in.get(BOARD, {"col": "contacted", "q": "x"}).content.decode()
    assert 'class="board-column board-column--current" id="column-contacted"' in body
    assert 'class="board-column" id="column-new"' in body
    assert 'href="/leads/board/?q=x&amp;col=lost"' in body
    default = client_in.get(BOARD).content.decode()
    assert 'class="board-column board-column--current" id="column-new"' in default


def test_a_viewer_sees_the_board_but_no_moves(db: None) -> None:
    lead = make_lead()
    viewer = Client()
    viewer.force_login(with_role(User.objects.create_user("vic", password="pw"), "viewer"))
    body = viewer.get(BOARD).content.decode()
    assert f'id="card-{lead.id}"' in body
    assert 'data-allowed=""' in body
    assert "data-move-form" not in body
    response = viewer.post(status_url(lead), {"status": "contacted", "expected_status": "new"})
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).lead_status == "new"
