"""Issue 15, item 11: the smaller frictions of a rep's day."""

import pytest
from playwright.sync_api import expect

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
