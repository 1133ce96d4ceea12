"""Every HTML answer carries the Content Security Policy and anti-framing, and needs no less.

The policy allows scripts and styles from this site only. That holds only if no page relies
on an inline `<script>`, a `style=` attribute or an `on…=` handler, so every rendered page is
parsed here and checked for them too: a page that needed them would break under the policy
(and one that had them from user input would be an injection, see test_security_hostile.py).

The pages come from walking the URL resolver as a manager, plus the ones only other people
see: the sign-in page, the wall, the 403, 404 and CSRF-failure pages, and the admin.
"""

from html.parser import HTMLParser

import pytest
from django.contrib.admin import site as admin_site
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads.models import WallLink
from leads.roles import MANAGER, VIEWER, set_user_role
from tests.factories import make_lead
from tests.test_security_csrf import leads_routes, url_of, world

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
# Answers that are not HTML pages for a signed-in manager (JSON, files, redirects).
NOT_PAGES = {
    "healthz",
    "home",
    "login",
    "logout",
    "live-events",
    "wall-events",
    "export",
    "custom-group-export",
    "webhook-waha",
    "webhook-moltflow",
}


class InlineCode(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, style attributes, handlers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        values = dict(attrs)
        if tag == "script" and "src" not in names:
            # Data islands (json_script) are not run, so the policy does not concern them.
            if (values.get("type") or "").lower() not in {
                "application/json",
                "application/ld+json",
            }:
                self._in_inline_script = True
        if tag == "style":
            self.found.append("<style> element")
        for name in names:
            if name == "style":
                self.found.append(f"style= on <{tag}>")
            if name.startswith("on"):
                self.found.append(f"{name}= on <{tag}>")
            if name.startswith("hx-on"):
                self.found.append(f"{name}= on <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False

    def handle_data(self, data: str) -> None:
        if self._in_inline_script and data.strip():
            self.found.append(f"inline <script>: {data.strip()[:60]!r}")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._in_inline_script = False


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.found


def assert_protected(response, where: str, *, frame_ancestors: str = "'none'") -> None:
    csp = response.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives.get("script-src") == ["'self'"], (where, csp)
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, (where, csp)
    assert directives.get("style-src") == ["'self'"], (where, csp)
    assert directives.get("object-src") == ["'none'"], (where, csp)
    assert " ".join(directives.get("frame-ancestors", [])) == frame_ancestors, (where, csp)
    if frame_ancestors == "'none'":
        assert response.get("X-Frame-Options") == "DENY", where
    assert response.get("X-Content-Type-Options") == "nosniff", where
    assert inline_code(response.content.decode()) == [], where


def signed_in(role: str, *, superuser: bool = False) -> Client:
    if superuser:
        user = User.objects.create_superuser(f"boss-{role}", password="pw")
    else:
        user = User.objects.create_user(f"person-{role}", password="pw")
        set_user_role(user, role)
    client = Client()
    client.force_login(user)
    return client


def test_the_checker_sees_what_the_policy_would_block() -> None:
    page = (
        '<p style="color:red">x</p><a onclick="go()">y</a><script>alert(1)</script>'
        '<button hx-on:click="x">z</button><script src="/static/a.js"></script>'
        '<script type="application/json">{"a": 1}</script>'
    )
    assert inline_code(page) == [
        "style= on <p>",
        "onclick= on <a>",
        "inline <script>: 'alert(1)'",
        "hx-on:click= on <button>",
    ]


def test_every_page_a_manager_can_open_carries_the_policy() -> None:
    objects = world()
    client = signed_in(MANAGER, superuser=True)
    seen = []
    for pattern in leads_routes():
        if pattern.name in NOT_PAGES:
            continue
        url = url_of(pattern, objects)
        if client.get(url).status_code == 405:
            continue  # a POST-only route: test_security_csrf.py covers it
        for headers in ({}, HTMX):
            response = client.get(url, headers=headers)
            assert response.status_code == 200, (url, response.status_code)
            assert response["Content-Type"].startswith("text/html"), url
            assert_protected(response, f"{url} {headers}")
        seen.append(pattern.name)
    # The walk really covered the pages (a rename would otherwise shrink it silently).
    assert {"table", "board", "detail", "activity", "groups", "users", "wall"} <= set(seen)


def test_the_table_and_detail_regions_htmx_swaps_in_carry_it_too() -> None:
    lead = make_lead()
    client = signed_in(MANAGER)
    for url, target in (
        (reverse("leads:table"), "leads"),
        (reverse("leads:table"), "leads-results"),
        (reverse("leads:board"), "board"),
        (reverse("leads:detail", args=[lead.id]), "lead-panel"),
        (reverse("leads:activity"), "activity-results"),
    ):
        response = client.get(url, headers={**HTMX, "HX-Target": target})
        assert response.status_code == 200, url
        assert_protected(response, f"{url}#{target}")


def test_the_pages_without_a_session_carry_it() -> None:
    _, token = WallLink.issue("Lobby")
    revoked, revoked_token = WallLink.issue("Old TV")
    WallLink.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    anonymous = Client()
    for url, status in (
        (reverse("leads:login"), 200),
        (f"/wall/{token}/", 200),
        (f"/wall/{revoked_token}/", 410),
        ("/wall/not-a-real-token/", 404),
        ("/admin/login/", 200),
        ("/no-such-page/", 404),
    ):
        response = anonymous.get(url)
        assert response.status_code == status, url
        assert_protected(response, url)


def test_the_error_pages_carry_it() -> None:
    lead = make_lead()
    viewer = signed_in(VIEWER)
    forbidden = viewer.get(reverse("leads:users"))
    refused_move = viewer.post(reverse("leads:change-status", args=[lead.id]), {"status": "lost"})
    missing = viewer.get("/leads/00000000-0000-0000-0000-000000000000/")
    strict = Client(enforce_csrf_checks=True)
    csrf = strict.post(reverse("leads:login"), {"username": "x", "password": "y"})
    for response, status, what in (
        (forbidden, 403, "403 page"),
        (refused_move, 403, "403 for a move"),
        (missing, 404, "404 page"),
        (csrf, 403, "CSRF failure page"),
    ):
        assert response.status_code == status, what
        assert_protected(response, what)


def test_the_admin_carries_it() -> None:
    lead = make_lead()
    client = signed_in(MANAGER, superuser=True)
    urls = ["/admin/", f"/admin/leads/lead/{lead.pk}/change/"]
    urls += [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin_site._registry
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_protected(response, url)


def test_the_wall_may_be_framed_only_by_the_origins_its_setting_names(settings) -> None:
    settings.WALL_FRAME_ANCESTORS = ["https://signage.example.com"]
    _, token = WallLink.issue("Lobby")
    wall = Client().get(f"/wall/{token}/")
    assert_protected(wall, "wall", frame_ancestors="https://signage.example.com")
    assert "X-Frame-Options" not in wall
    # Only the wall: the sign-in page next to it still refuses every frame.
    assert_protected(Client().get(reverse("leads:login")), "login")
