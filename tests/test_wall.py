"""The wall display: no login, masked by default, revocable, escaped, and its headers.

A TV on the office wall opens `/wall/<token>/` once and never again: every answer it can get
must be a picture or a clear blank, never a login page, and nothing it shows may tell a
visitor more than the link allows.
"""

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads import services
from leads.models import WallLink, hash_wall_token
from leads.roles import MANAGER, REP, set_user_role
from leads.sources.local import LocalSource
from leads.sources.records import SORT_NEWEST
from leads.wall import first_name, mask_phone, present, take_snapshot
from tests.factories import make_group, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def tv() -> Client:
    """The office screen: a browser with no session at all."""
    return Client()


@pytest.fixture
def link() -> tuple[WallLink, str]:
    return WallLink.issue("Sales floor")


def urls(token: str) -> dict[str, str]:
    return {
        "page": reverse("leads:wall", args=[token]),
        "events": reverse("leads:wall-events", args=[token]),
        "snapshot": reverse("leads:wall-snapshot", args=[token]),
    }


def manager() -> Client:
    user = User.objects.create_user("mona", password="pw")
    set_user_role(user, MANAGER)
    client = Client()
    client.force_login(user)
    return client


# --- No login, never a login page ----------------------------------------------------------------


def test_the_wall_needs_no_login(tv, link) -> None:
    make_lead(name="Dana Levi", group=make_group(name="Real Estate IL"))
    response = tv.get(urls(link[1])["page"])
    assert response.status_code == 200
    assert "Dana" in response.text
    assert "Real Estate IL" in response.text


def test_the_wall_sets_no_cookie_and_reads_no_session(tv, link) -> None:
    for url in urls(link[1]).values():
        response = tv.get(url)
        assert "Set-Cookie" not in response.headers
        assert "Cookie" not in response.get("Vary", "")


def test_a_signed_in_browser_opening_the_wall_keeps_its_session_as_it_was(link) -> None:
    client = manager()
    before = client.session.get("_leads_last_active")
    client.session.save()
    client.get(urls(link[1])["events"])
    assert client.session.get("_leads_last_active") == before


def test_a_revoked_link_blanks_and_never_redirects(tv, link) -> None:
    wall, token = link
    live = tv.get(urls(token)["events"])  # a screen that has seen nothing yet: the position
    assert live.status_code == 200
    assert set(live.json()) == {"last", "seen", "server_time"}
    wall.revoked_at = timezone.now()
    wall.save()

    page = tv.get(urls(token)["page"])
    assert page.status_code == 410
    assert "This display link was revoked." in page.text
    assert "login" not in page.text.lower()
    for name in ("events", "snapshot"):
        response = tv.get(urls(token)[name])
        assert response.status_code == 410
        assert response.json() == {"revoked": True}


def test_an_unknown_token_is_404_with_a_plain_dark_page(tv) -> None:
    page = tv.get(urls("not-a-real-token")["page"])
    assert page.status_code == 404
    assert "This display link is not valid." in page.text
    assert tv.get(urls("not-a-real-token")["events"]).json() == {"unknown": True}


def test_revoking_from_the_settings_page_reaches_the_screen_on_its_next_poll(tv, link) -> None:
    wall, token = link
    response = manager().post(reverse("leads:wall-link-revoke", args=[wall.pk]))
    assert response.status_code == 302
    assert tv.get(urls(token)["events"]).status_code == 410


# --- What the wall shows, and what it hides -------------------------------------------------------


def test_phones_are_masked_and_only_first_names_shown_by_default(tv, link) -> None:
    make_lead(name="Dana Levi", phone="+972521234567")
    body = tv.get(urls(link[1])["page"]).text
    assert "•••• 4567" in body
    assert "972521234567" not in body and "52 123" not in body
    assert "Dana" in body and "Levi" not in body


def test_a_link_may_show_full_names_and_phones(tv) -> None:
    _, token = WallLink.issue("Back office", show_full_names=True, show_phones=True)
    make_lead(name="Dana Levi", phone="+972521234567")
    body = tv.get(urls(token)["page"]).text
    assert "Dana Levi" in body and "+972 52-123-4567" in body


def test_message_text_never_reaches_the_wall(tv, link) -> None:
    make_lead(preview="my private address is 12 Herzl St")
    assert "Herzl" not in tv.get(urls(link[1])["page"]).text


def test_user_written_text_is_escaped(tv, link) -> None:
    group = make_group(name="<img src=x onerror=alert(1)>")
    make_lead(group, name="<script>alert(1)</script> Levi", keyword="<b>price</b>")
    for name in ("page", "snapshot"):
        body = tv.get(urls(link[1])[name]).text
        assert "<script>alert(1)" not in body
        assert "<img src=x" not in body
        assert "<b>price</b>" not in body
        assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_the_numbers_today_waiting_and_this_weeks_conversion(tv, link, settings) -> None:
    settings.LEADS_WAITING_THRESHOLD_MINUTES = 15
    now = timezone.now()
    make_lead(name="Fresh One", detected_at=now - timedelta(minutes=2))
    make_lead(name="Waiting Wendy", detected_at=now - timedelta(minutes=40))
    make_lead(name="Old Olga", status="new", detected_at=now - timedelta(days=30))
    won = make_lead(name="Won Walter", detected_at=now - timedelta(minutes=5))
    services.lead_change_status(won.id, "converted", services.Actor.system())

    snapshot = take_snapshot(LocalSource(), now)
    assert snapshot.waiting == 2
    assert [lead.name for lead in snapshot.waiting_oldest] == ["Old Olga", "Waiting Wendy"]
    assert snapshot.counts["new"] == 3 and snapshot.counts["converted"] == 1
    if timezone.localtime(now).hour >= 1:  # (just after midnight "today" is nearly empty)
        assert snapshot.today == 3
        assert snapshot.week_converted == 1
    body = tv.get(urls(link[1])["snapshot"]).text
    assert re.search(r"wall-kpi__value\">2</span> <span class=\"wall-kpi__label\">waiting", body)


class UndatedLocalSource(LocalSource):
    """The store, seen as a source that cannot filter by date or sort oldest first
    (like MoltFlow's API): the wall must get the same numbers by reading lists instead."""

    def capabilities(self):  # type: ignore[no-untyped-def]
        caps = super().capabilities()
        return replace(
            caps,
            filters=caps.filters - {"detected_from", "detected_to"},
            sorts=frozenset({SORT_NEWEST}),
        )


def test_a_source_without_date_filters_gives_the_same_picture() -> None:
    now = timezone.now()
    for minutes in (1, 20, 60, 60 * 24 * 3, 60 * 24 * 20):
        make_lead(detected_at=now - timedelta(minutes=minutes))
    converted = make_lead(detected_at=now - timedelta(minutes=30))
    services.lead_change_status(converted.id, "converted", services.Actor.system())

    dated = take_snapshot(LocalSource(), now)
    undated = take_snapshot(UndatedLocalSource(), now)
    for field in ("today", "waiting", "week_total", "week_converted", "counts"):
        assert getattr(undated, field) == getattr(dated, field), field
    assert [lead.name for lead in undated.waiting_oldest] == [
        lead.name for lead in dated.waiting_oldest
    ]


def test_the_ticker_groups_the_newest_leads_by_group() -> None:
    a, b = make_group(name="Alpha"), make_group(name="Beta")
    make_lead(a, name="Ann One")
    make_lead(b, name="Ben Two")
    make_lead(a, name="Amy Three")
    wall = present(take_snapshot(LocalSource()), WallLink(name="x"))
    groups = {item["group"]: [card.name for card in item["cards"]] for item in wall["ticker"]}
    assert groups == {"Alpha": ["Ann", "Amy"], "Beta": ["Ben"]}


@pytest.mark.parametrize(
    ("name", "shown"),
    [("Dana Levi", "Dana"), ("  ", "Someone"), ("+972 52-123-4567", "•••• 4567"), ("دنا", "دنا")],
)
def test_first_names(name: str, shown: str) -> None:
    assert first_name(name) == shown


def test_mask_phone() -> None:
    assert mask_phone("+15550123456") == "•••• 3456"
    assert mask_phone(None) == "hidden number"


# --- Live: events and pictures --------------------------------------------------------------------


def test_the_wall_polls_a_cheap_token_and_hears_of_changes(tv, link) -> None:
    lead = make_lead()
    token = tv.get(urls(link[1])["events"]).json()
    unchanged = tv.get(urls(link[1])["events"], {"after": token["last"], "seen": token["seen"]})
    assert unchanged.status_code == 204
    services.lead_change_status(lead.id, "contacted", services.Actor.system())
    moved = tv.get(urls(link[1])["events"], {"after": token["last"], "seen": token["seen"]})
    assert moved.status_code == 200


def test_the_snapshot_is_the_content_region_marked_as_such(tv, link) -> None:
    make_lead(name="Dana Levi")
    response = tv.get(urls(link[1])["snapshot"])
    assert response["X-Wall-Snapshot"] == "1"
    assert response.text.lstrip().startswith('<section class="wall-kpis"')
    assert "<html" not in response.text


def test_a_new_change_is_in_the_next_snapshot_despite_the_shared_cache(tv, link) -> None:
    lead = make_lead(name="Dana Levi")
    assert 'wall-column__count">1</span>' in tv.get(urls(link[1])["snapshot"]).text
    services.lead_change_status(lead.id, "contacted", services.Actor.system())
    body = tv.get(urls(link[1])["snapshot"]).text
    contacted = body.split("wall-column--contacted")[1]
    assert contacted.split('wall-column__count">')[1].startswith("1<")


def test_the_page_carries_what_wall_js_needs(tv, link) -> None:
    body = tv.get(urls(link[1])["page"]).text
    assert f'data-events-url="{urls(link[1])["events"]}"' in body
    assert f'data-snapshot-url="{urls(link[1])["snapshot"]}"' in body
    assert 'data-rotate-seconds="20"' in body
    assert 'src="/static/js/wall.js"' in body
    assert "<script>" not in body
    assert ' style="' not in body
    assert '<meta name="referrer" content="no-referrer">' in body


def test_rotation_is_off_when_the_link_says_so(tv) -> None:
    _, token = WallLink.issue("Still", rotate=False)
    assert 'data-rotate-seconds="0"' in tv.get(urls(token)["page"]).text


def test_a_wall_records_when_it_was_last_seen(tv, link) -> None:
    tv.get(urls(link[1])["events"])
    assert WallLink.objects.get(pk=link[0].pk).last_seen_at is not None


# --- Headers --------------------------------------------------------------------------------------


def test_the_wall_cannot_be_framed_by_default(tv, link) -> None:
    response = tv.get(urls(link[1])["page"])
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"


def test_a_setting_lets_named_origins_frame_the_wall_only(tv, link, settings) -> None:
    settings.WALL_FRAME_ANCESTORS = ["https://signage.example.com"]
    wall = tv.get(urls(link[1])["page"])
    assert "frame-ancestors https://signage.example.com" in wall["Content-Security-Policy"]
    assert "script-src 'self'" in wall["Content-Security-Policy"]
    assert "X-Frame-Options" not in wall.headers
    # Every other page still refuses to be framed.
    login = tv.get(reverse("leads:login"))
    assert "frame-ancestors 'none'" in login["Content-Security-Policy"]


# --- Managing links -------------------------------------------------------------------------------


def test_a_manager_creates_a_link_and_sees_its_address_once() -> None:
    client = manager()
    response = client.post(
        reverse("leads:wall-links"), {"name": "Lobby", "rotate": "on", "show_phones": ""}
    )
    assert response.status_code == 200
    match = re.search(r'value="(http://testserver/wall/([A-Za-z0-9_-]{40,})/)"', response.text)
    assert match, response.text
    link = WallLink.objects.get(name="Lobby")
    assert link.token_hash == hash_wall_token(match.group(2))
    assert match.group(2) not in link.token_hash
    assert (link.rotate, link.show_phones, link.show_full_names) == (True, False, False)
    # Shown once: the list afterwards names the link but not its address.
    assert match.group(2) not in client.get(reverse("leads:wall-links")).text
    assert Client().get(f"/wall/{match.group(2)}/").status_code == 200


def test_only_managers_manage_links(link) -> None:
    user = User.objects.create_user("rick", password="pw")
    set_user_role(user, REP)
    client = Client()
    client.force_login(user)
    assert client.get(reverse("leads:wall-links")).status_code == 403
    assert client.post(reverse("leads:wall-link-revoke", args=[link[0].pk])).status_code == 403
    assert WallLink.objects.get(pk=link[0].pk).revoked_at is None


def test_link_forms_need_their_csrf_token(link) -> None:
    user = User.objects.create_user("mona", password="pw")
    set_user_role(user, MANAGER)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(reverse("leads:wall-link-revoke", args=[link[0].pk])).status_code == 403
    assert WallLink.objects.get(pk=link[0].pk).revoked_at is None


# --- Every HTML page's security headers -----------------------------------------------------------


def test_every_kind_of_html_page_carries_the_policy(link) -> None:
    lead = make_lead()
    client = manager()
    pages = [
        (Client(), reverse("leads:login")),
        (Client(), "/admin/login/"),
        (Client(), urls(link[1])["page"]),
        (Client(), urls("unknown")["page"]),
        (client, reverse("leads:table")),
        (client, reverse("leads:board")),
        (client, reverse("leads:detail", args=[lead.id])),
        (client, reverse("leads:activity")),
        (client, reverse("leads:users")),
        (client, reverse("leads:wall-links")),
        (client, "/admin/"),
    ]
    for who, url in pages:
        response = who.get(url)
        csp = response["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp, url
        assert "script-src 'self'" in csp and "unsafe" not in csp, url
        assert "style-src 'self'" in csp, url


def test_htmx_posts_carry_the_csrf_header_from_the_body_tag() -> None:
    page = manager().get(reverse("leads:table")).text
    assert re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"[A-Za-z0-9]{32,}\"\}'>", page)


def test_an_htmx_post_without_csrf_gets_a_message_not_an_error_page() -> None:
    user = User.objects.create_user("rick", password="pw")
    set_user_role(user, REP)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    lead = make_lead()
    response = client.post(
        reverse("leads:change-status", args=[lead.id]),
        {"status": "contacted"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#messages"
    assert "Reload the page" in response.text
