"""Feedback (issue 15, items 4 and 5): progress while htmx works, messages in view."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_lead_panel_browser import in_viewport, many_leads

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = "/leads/"


# --- items 4 and 5: feedback while working, messages in view -----------------------


def test_a_slow_answer_shows_progress_and_disables_the_button_that_sent_it(page: Page) -> None:
    many_leads(3)
    page.goto(TABLE)
    held: list = []
    page.route(re.compile(r"/leads/\?.*status=new"), lambda route: held.append(route))
    page.select_option("#id_status", "new")

    bar = page.locator("#busy-bar")
    expect(bar).to_be_visible()  # drawn once the answer is ~300 ms late
    expect(page.locator("#leads-results")).to_have_attribute("aria-busy", "true")
    expect(page.get_by_role("button", name="Filter")).to_be_disabled()

    held[0].continue_()
    expect(page.get_by_role("button", name="Filter")).to_be_enabled()
    expect(bar).to_be_hidden()
    expect(page.locator("#leads-results")).not_to_have_attribute("aria-busy", "true")


def test_a_refusal_is_shown_in_view_far_down_the_page_and_announced(page: Page) -> None:
    from leads.models import Lead

    page.set_viewport_size({"width": 1440, "height": 900})
    leads = many_leads(60)
    page.goto(f"{TABLE}?page_size=100")
    row = page.locator("table.leads tbody tr[id^=lead-]").nth(45)
    target = next(lead for lead in leads if f"lead-{lead.id}" == row.get_attribute("id"))
    row.locator("a.lead-link").scroll_into_view_if_needed()
    row.locator("a.lead-link").click()
    panel = page.locator("#lead-panel")
    expect(panel.locator("h2")).to_have_text(target.contact_name)
    Lead.objects.filter(pk=target.pk).update(lead_status="qualified")  # moved by someone else

    panel.locator("button[name=status][value=contacted]").click()
    messages = page.locator("#messages")
    expect(messages).to_contain_text("Not moved")
    expect(messages).to_have_attribute("aria-live", "polite")
    assert in_viewport(page, "#messages")["inside"]
    messages.get_by_role("button", name="Dismiss this message").click()
    expect(messages).not_to_contain_text("Not moved")
