"""A rep's day in a real browser (issue 15): numbers, the side panel, Clear, layout, feedback."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import make_group, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = "/leads/"


def test_a_number_shows_in_its_country_format_and_is_found_as_it_is_shown(page: Page) -> None:
    group = make_group(name="Berlin flats")
    jonas = make_lead(group, name="Jonas", phone="+4915112345678")
    make_lead(group, name="Omar", phone="+972500000300")
    page.goto(TABLE)
    row = page.locator(f"#lead-{jonas.id}")
    expect(row).to_contain_text("+49 1511 2345678")

    page.locator("#id_q").fill("+49 1511 2345678")
    page.locator("#id_q").press("Enter")
    expect(page).to_have_url(re.compile(r"q=%2B49"))
    expect(page.locator("table.leads tbody tr[id^=lead-]")).to_have_count(1)
    expect(row).to_be_visible()


def test_reciprocity_for_a_hidden_number_says_it_cannot_know(page: Page) -> None:
    lead = make_lead(make_group(), name="Hidden Hadar", phone="")
    page.goto(f"/leads/{lead.id}/")
    page.locator("#reciprocity").get_by_role("button", name="Check").click()
    expect(page.locator("#reciprocity")).to_contain_text("Unknown: WhatsApp hides this number")
    expect(page.locator("#reciprocity")).not_to_contain_text("No:")
