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
