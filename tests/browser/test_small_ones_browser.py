"""Issue 15, item 11: the smaller frictions of a rep's day."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leads.models import WallLink
from leads.services import Actor, lead_bulk_change_status, lead_change_status
from tests.browser.conftest import open_tab
from tests.factories import make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_header_says_live_only_when_it_is(browser, live_server, rep) -> None:
    make_lead()
    for tab in open_tab(browser, live_server.url, rep, java_script_enabled=False):
        tab.goto("/leads/")
        expect(tab.locator(".whoami")).to_be_visible()
        expect(tab.locator("#live-status")).to_be_hidden()
    for tab in open_tab(browser, live_server.url, rep):
        tab.goto("/leads/")
        expect(tab.locator("#live-status")).to_be_visible()
        expect(tab.locator("#live-status")).to_contain_text("Live")


def test_hebrew_values_on_the_lead_page_sit_beside_their_labels(page) -> None:
    from tests.factories import make_group

    lead = make_lead(make_group(name="דירות בתל אביב"), name="דנה לוי")
    page.goto(f"/leads/{lead.id}/")
    gap = page.evaluate(
        """() => {
            const dd = [...document.querySelectorAll('#lead-panel dd')]
              .find(d => d.textContent.includes('דירות'));
            const range = document.createRange();
            range.selectNodeContents(dd);
            return range.getBoundingClientRect().left - dd.getBoundingClientRect().left;
        }"""
    )
    assert gap < 5, gap


def test_every_page_shows_a_moment_one_way_with_the_exact_time_on_hover(page) -> None:
    lead = make_lead(name="Dana Levi", detected_at=timezone.now() - timedelta(hours=3, minutes=5))
    lead_change_status(lead.id, "contacted", Actor.system("test"))
    exact = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+$")
    places = {
        "/leads/": f"#lead-{lead.id} time",
        "/leads/board/": f"#card-{lead.id} time",
        f"/leads/{lead.id}/": "#lead-panel dd time",
    }
    for url, selector in places.items():
        page.goto(url)
        detected = page.locator(selector).first
        expect(detected).to_have_text("3 h ago")
        expect(detected).to_have_attribute("title", exact)
    page.goto("/activity/")
    changed = page.locator("table.activity tbody time").first
    expect(changed).to_have_text(re.compile(r"^\d+ s ago$"))
    expect(changed).to_have_attribute("title", exact)


def test_a_bulk_change_is_one_activity_line_that_opens_on_its_leads(page, rep) -> None:
    leads = [make_lead(name=f"Bulk lead {n}") for n in range(3)]
    lead_bulk_change_status(
        [lead.id for lead in leads], "contacted", Actor(kind="user", user_id=rep.pk)
    )
    page.goto("/activity/")
    entry = page.locator("tr.activity__bulk")
    expect(entry).to_have_count(1)
    expect(entry.locator("summary")).to_have_text(
        re.compile(r"^dana moved 3 leads to\s+Contacted$")
    )
    expect(entry.get_by_role("link", name="Bulk lead 0")).to_be_hidden()
    entry.locator("summary").focus()
    page.keyboard.press("Enter")
    for lead in leads:
        expect(entry.get_by_role("link", name=lead.contact_name)).to_be_visible()


def test_revoking_a_display_link_takes_a_second_deliberate_click(manager_page) -> None:
    # A stray click on "Revoke" blanked a TV on the office wall (browser review).
    link, _ = WallLink.issue("Lobby TV")
    manager_page.goto("/settings/wall/")
    manager_page.get_by_text("Revoke…").click()
    assert WallLink.objects.get(pk=link.pk).revoked_at is None  # opening it revokes nothing
    manager_page.get_by_role("button", name="Revoke: its screen goes blank").click()
    expect(manager_page.locator("main")).to_contain_text("Revoked")
    assert WallLink.objects.get(pk=link.pk).revoked_at is not None
