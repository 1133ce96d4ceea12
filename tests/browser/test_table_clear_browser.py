"""The table's Clear (issue 15, item 2): form, URL and results reset together."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import make_group, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = "/leads/"


# --- item 2: Clear resets the form, the URL and the results together -----------------


def clear_fixture() -> None:
    group = make_group(name="Real Estate IL")
    make_lead(group, name="Dana Levi", keyword="price")
    make_lead(group, name="Danny Katz", keyword="price", status="contacted")
    make_lead(group, name="Omar Haddad", keyword="rent")
    make_lead(group, name="Yael Cohen", keyword="rent", status="lost")


def expect_cleared(page: Page) -> None:
    expect(page).to_have_url(re.compile(r"/leads/$"))
    expect(page.locator("#id_q")).to_have_value("")
    expect(page.locator("#id_status")).to_have_value("")
    expect(page.locator("table.leads tbody tr[id^=lead-]")).to_have_count(4)


def test_clear_resets_form_url_and_results_with_javascript(page: Page) -> None:
    clear_fixture()
    page.goto(f"{TABLE}?status=new&q=dan")
    expect(page.locator("table.leads tbody tr[id^=lead-]")).to_have_count(1)
    page.get_by_role("link", name="Clear").click()
    expect_cleared(page)

    # Typing and clearing at once: the search on its way must not come back afterwards.
    page.select_option("#id_status", "new")
    expect(page).to_have_url(re.compile(r"status=new"))
    page.locator("#id_q").press_sequentially("price")
    page.get_by_role("link", name="Clear").click()
    page.wait_for_timeout(1000)  # longer than the search box's 300 ms debounce
    expect_cleared(page)


def test_clear_resets_everything_without_javascript(browser, live_server, rep) -> None:
    from tests.browser.conftest import open_tab

    clear_fixture()
    for tab in open_tab(browser, live_server.url, rep, java_script_enabled=False):
        tab.goto(f"{TABLE}?status=new&q=dan")
        expect(tab.locator("table.leads tbody tr[id^=lead-]")).to_have_count(1)
        tab.get_by_role("link", name="Clear").click()
        expect_cleared(tab)
