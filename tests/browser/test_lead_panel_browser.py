"""The lead side panel (issue 15, item 1): opens where the person is, focus in and back, Back."""

import re

import pytest
from playwright.sync_api import Page, expect

from leads.services import Actor, lead_change_status
from tests.factories import make_group, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = "/leads/"


# --- item 1: the side panel opens where the person is --------------------------------


def in_viewport(page: Page, selector: str) -> dict:
    """The element's box and whether it lies inside the visible viewport."""
    return page.evaluate(
        """sel => { const r = document.querySelector(sel).getBoundingClientRect();
                    return {top: r.top, left: r.left, width: r.width, height: r.height,
                            inside: r.top >= 0 && r.left >= 0 && r.height > 0 &&
                                    r.bottom <= innerHeight + 1 && r.right <= innerWidth + 1}; }""",
        selector,
    )


def many_leads(count: int) -> list:
    group = make_group(name="Real Estate IL")
    return [make_lead(group, name=f"Lead {n:02d}") for n in range(count)]


def focused_text(page: Page) -> str:
    return page.evaluate("() => document.activeElement && document.activeElement.textContent")


def test_the_panel_opens_in_view_far_down_takes_focus_and_escape_returns_to_the_row(
    page: Page,
) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    leads = many_leads(60)
    page.goto(f"{TABLE}?page_size=100")
    row = page.locator("table.leads tbody tr[id^=lead-]").nth(40)
    target = next(lead for lead in leads if f"lead-{lead.id}" == row.get_attribute("id"))
    link = row.locator("a.lead-link")
    link.scroll_into_view_if_needed()
    table_width = page.locator("table.leads").bounding_box()["width"]
    link.click()

    panel = page.locator("#lead-panel")
    expect(panel.locator("h2")).to_have_text(target.contact_name)
    assert in_viewport(page, "#lead-panel")["inside"]
    assert page.locator("table.leads").bounding_box()["width"] == table_width  # not squeezed
    expect(panel.locator("h2")).to_be_focused()
    expect(page).to_have_url(re.compile(rf"/leads/{target.id}/$"))

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/leads/\?page_size=100$"))
    expect(link).to_be_focused()


def test_the_close_button_closes_and_back_closes_too(page: Page) -> None:
    leads = many_leads(3)
    page.goto(TABLE)
    link = page.locator(f"#lead-{leads[1].id} a.lead-link")
    link.click()
    panel = page.locator("#lead-panel")
    panel.get_by_role("button", name=re.compile("Close")).click()
    expect(panel).to_be_hidden()
    expect(link).to_be_focused()

    link.click()
    expect(panel.locator("h2")).to_be_focused()
    page.locator(f"#lead-{leads[0].id} a.lead-link").click()  # another lead: one entry, replaced
    expect(panel.locator("h2")).to_have_text(leads[0].contact_name)
    page.go_back()
    expect(panel).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/leads/$"))
    expect(page.locator(f"#lead-{leads[2].id}")).to_be_visible()


def test_on_a_phone_the_panel_is_a_full_screen_sheet_where_the_person_is(
    browser, live_server, rep
) -> None:
    from tests.browser.conftest import open_tab

    many_leads(30)
    for tab in open_tab(browser, live_server.url, rep, viewport={"width": 390, "height": 844}):
        tab.goto(f"{TABLE}?page_size=50")
        link = tab.locator("table.leads tbody tr[id^=lead-]").nth(27).locator("a.lead-link")
        link.scroll_into_view_if_needed()
        assert tab.evaluate("() => scrollY") > 2000
        link.click()
        expect(tab.locator("#lead-panel h2")).to_be_focused()
        box = in_viewport(tab, "#lead-panel")
        assert box["inside"] and box["top"] == 0 and box["left"] == 0
        assert box["width"] == 390 and box["height"] == 844


def test_reloading_or_sharing_an_open_panels_address_shows_the_whole_lead_page(page: Page) -> None:
    leads = many_leads(3)
    page.goto(TABLE)
    page.locator(f"#lead-{leads[1].id} a.lead-link").click()
    expect(page).to_have_url(re.compile(rf"/leads/{leads[1].id}/$"))
    for load in (page.reload, lambda: page.goto(f"/leads/{leads[1].id}/")):
        load()
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        expect(page.locator("#lead-panel h2")).to_have_text(leads[1].contact_name)
        expect(page.get_by_role("link", name="← All leads")).to_be_visible()


def test_a_half_written_note_survives_a_refused_move_and_a_take(page: Page) -> None:
    lead = make_lead(make_group(), name="Dana Levi")
    page.goto(f"/leads/{lead.id}/")
    note = page.locator("#note-text")
    note.fill("Asked for the price list, call back Sunday")

    # Someone else moves the lead meanwhile: this screen's move is refused, the panel redrawn.
    lead_change_status(lead.id, "contacted", Actor.system("test"))
    page.locator("form[data-move-form] button[value=contacted]").click()
    expect(page.locator("#messages")).to_contain_text("Not moved")
    expect(note).to_have_value("Asked for the price list, call back Sunday")

    page.locator("#take-it").click()
    expect(page.locator("#take-it")).to_have_count(0)
    expect(note).to_have_value("Asked for the price list, call back Sunday")

    # The form that was sent starts afresh: the note is in the timeline, the box is empty.
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#lead-timeline")).to_contain_text("call back Sunday")
    expect(note).to_have_value("")


def test_an_open_panel_follows_a_move_made_on_another_screen(page: Page) -> None:
    lead = make_lead(make_group(), name="Dana Levi")
    page.goto(TABLE)
    page.locator(f"#lead-{lead.id} a.lead-link").click()
    panel = page.locator("#lead-panel")
    expect(panel).to_have_attribute("data-status", "new")
    page.locator("#note-text").fill("Wants a callback")  # and the typing goes on there

    lead_change_status(lead.id, "contacted", Actor.system("test"))
    expect(page.locator(f"#lead-{lead.id}")).to_have_attribute("data-status", "contacted")
    expect(panel).to_have_attribute("data-status", "contacted")
    expect(panel.locator("input[name=expected_status]").first).to_have_value("contacted")
    expect(page.locator("#note-text")).to_have_value("Wants a callback")
    expect(page.locator("#note-text")).to_be_focused()


def test_a_closed_panel_stays_closed_when_its_lead_moves(page: Page) -> None:
    lead = make_lead(make_group(), name="Dana Levi")
    page.goto(TABLE)
    page.locator(f"#lead-{lead.id} a.lead-link").click()
    panel = page.locator("#lead-panel")
    panel.get_by_role("button", name=re.compile("Close")).click()
    expect(panel).to_be_hidden()

    lead_change_status(lead.id, "contacted", Actor.system("test"))
    expect(page.locator(f"#lead-{lead.id}")).to_have_attribute("data-status", "contacted")
    page.wait_for_timeout(500)
    expect(panel).to_be_hidden()


def test_an_open_panel_follows_its_lead_out_of_a_status_tab(page: Page) -> None:
    lead = make_lead(make_group(), name="Dana Levi")
    page.goto(f"{TABLE}?status=new")
    page.locator(f"#lead-{lead.id} a.lead-link").click()
    panel = page.locator("#lead-panel")
    expect(panel).to_have_attribute("data-status", "new")

    lead_change_status(lead.id, "contacted", Actor.system("test"))
    expect(page.locator(f"#lead-{lead.id}")).to_have_count(0)  # gone from the New tab
    expect(panel).to_have_attribute("data-status", "contacted")
