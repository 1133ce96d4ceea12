"""Issue 15, item 12: every flow works by keyboard alone (no click, no mouse).

Each test reaches its controls with Tab (as a person would, through everything before them),
acts with Enter, Space, letters and Escape, and checks both the page and the store.
"""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from leads.models import Lead
from leads.roles import MANAGER
from tests.browser.conftest import open_tab
from tests.factories import make_group, make_lead
from tests.people import person

pytestmark = pytest.mark.django_db(transaction=True)


def tab_to(page: Page, target: Locator, backwards: bool = False, limit: int = 120) -> None:
    """Press Tab (or Shift+Tab) until `target` has the focus; fail after `limit` presses."""
    handle = target.element_handle()
    for _ in range(limit):
        if page.evaluate("el => document.activeElement === el", handle):
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"{limit} Tab presses never reached {target}")


@pytest.fixture
def manager_page(browser: Browser, live_server) -> Iterator[Page]:
    yield from open_tab(
        browser,
        live_server.url,
        person("mona", MANAGER, "Mona"),
        viewport={"width": 1440, "height": 900},
    )


def test_a_lead_is_opened_moved_and_closed_from_the_table_by_keyboard(page: Page) -> None:
    group = make_group(name="Real Estate IL")
    leads = [make_lead(group, name=f"Lead {n}") for n in range(3)]
    target = leads[1]
    page.goto("/leads/")
    link = page.locator(f"#lead-{target.id} a.lead-link")
    tab_to(page, link)
    page.keyboard.press("Enter")

    panel = page.locator("#lead-panel")
    expect(panel.locator("h2")).to_be_focused()
    expect(panel.locator("h2")).to_have_text("Lead 1")
    tab_to(page, panel.get_by_role("button", name="Contacted", exact=True))
    page.keyboard.press("Enter")
    expect(panel.locator(".badge")).to_have_text("Contacted")
    expect(page.locator(f"#lead-{target.id} .badge")).to_have_text("Contacted")
    assert Lead.objects.get(pk=target.pk).lead_status == "contacted"

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(link).to_be_focused()
    expect(page).to_have_url(re.compile(r"/leads/$"))


def test_a_card_is_moved_on_the_board_by_keyboard(page: Page) -> None:
    lead = make_lead(make_group(name="Real Estate IL"), name="Dana Levi")
    page.goto("/leads/board/")
    card = page.locator(f"#card-{lead.id}")
    move = card.locator("summary", has_text="Move")
    tab_to(page, move)
    page.keyboard.press("Enter")
    tab_to(page, card.get_by_role("button", name="Qualified", exact=True))
    page.keyboard.press("Enter")

    moved = page.locator(f"#column-qualified #card-{lead.id}")
    expect(moved).to_be_visible()
    assert Lead.objects.get(pk=lead.pk).lead_status == "qualified"
    # The person keeps their place: the focus is on the moved card, not lost to <body>.
    expect(moved.locator(f"#card-link-{lead.id}")).to_be_focused()


def test_a_bulk_change_is_run_by_keyboard(manager_page: Page) -> None:
    page = manager_page
    group = make_group(name="Real Estate IL")
    leads = [make_lead(group, name=f"Lead {n}") for n in range(3)]
    page.goto("/leads/")
    for lead in leads[:2]:
        tab_to(page, page.locator(f"#lead-{lead.id} input[name=lead]"))
        page.keyboard.press("Space")
    tab_to(page, page.locator("#bulk-status"), backwards=True)
    page.keyboard.type("qual")  # a closed <select> picks the option whose label starts so
    expect(page.locator("#bulk-status")).to_have_value("qualified")
    tab_to(page, page.get_by_role("button", name="Change status"))
    page.keyboard.press("Enter")

    expect(page.locator("#messages")).to_contain_text("2 moved to qualified")
    statuses = dict(Lead.objects.values_list("contact_name", "lead_status"))
    assert statuses == {"Lead 0": "qualified", "Lead 1": "qualified", "Lead 2": "new"}
