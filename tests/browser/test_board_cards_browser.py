"""Compact board cards (issue 15, item 7): six or more per column, one Move control, final."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from leads.models import Lead, LeadFollowUp
from tests.browser.conftest import open_tab
from tests.factories import make_group, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

BOARD = "/leads/board/"


def test_at_least_six_cards_per_column_are_visible_at_1440_by_900(page: Page) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    group = make_group(name="Real Estate IL")
    # Ten leads of the last ten minutes, whatever the factory's clock has reached by now.
    now = timezone.now()
    for n in range(10):
        make_lead(
            group,
            name=f"Lead {n:02d} Cohen",
            keyword="looking for a 3-bedroom",
            detected_at=now - timedelta(minutes=n),
        )
    page.goto(BOARD)
    expect(page.locator("#column-new .card")).to_have_count(10)
    visible = page.evaluate(
        """() => Array.from(document.querySelectorAll('#column-new .card'))
              .filter(card => card.getBoundingClientRect().bottom <= innerHeight).length"""
    )
    assert visible >= 6, visible


def test_a_card_has_one_move_control_that_moves_it_by_keyboard(page: Page) -> None:
    lead = make_lead(name="Avi Cohen")
    page.goto(BOARD)
    card = page.locator(f"#card-{lead.id}")
    expect(card.locator(".card__move")).to_have_count(1)
    expect(card.locator(".card__move > summary")).to_have_text("Move")
    expect(card.get_by_role("button", name="Contacted")).to_be_hidden()

    page.locator(f"#card-link-{lead.id}").focus()
    page.keyboard.press("Tab")
    expect(card.locator(".card__move > summary")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator(f"#move-{lead.id}-contacted")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(f"#column-contacted #card-{lead.id}")).to_be_visible()
    assert Lead.objects.get(pk=lead.pk).lead_status == "contacted"


def test_a_cards_menus_are_inert_until_opened_and_a_link_without_javascript(
    browser, live_server, rep
) -> None:
    # A hundred cards' live forms made every redraw cost a screen ~275 ms of CPU: the board
    # draws each menu once, in a <template>, and a card gets a copy with its own id when its
    # menu opens (static/js/board.js).
    leads = [make_lead(name=f"Lead {n} Cohen") for n in range(3)]
    for tab in open_tab(browser, live_server.url, rep):
        tab.goto(BOARD)
        expect(tab.locator("#column-new .card")).to_have_count(3)
        assert tab.locator(".card form").count() == 0
        tab.locator(f"#card-{leads[0].id} .card__follow-up > summary").click()
        expect(tab.get_by_label("Get back to them on")).to_be_visible()
        assert tab.locator(".card form").count() == 1  # that card's menu alone
        assert tab.locator(f"#card-{leads[0].id} [data-menu-fallback]").count() == 1  # Move's
        # The copy is this card's: its form posts this lead's follow-up.
        tab.get_by_label("Get back to them on").fill("2030-01-02T09:30")
        tab.get_by_role("button", name="Set").click()
        expect(tab.locator(f"#card-{leads[0].id} .card__due")).to_be_visible()
        assert LeadFollowUp.objects.filter(lead_id=leads[0].id).count() == 1
        assert not LeadFollowUp.objects.exclude(lead_id=leads[0].id).exists()
    for tab in open_tab(browser, live_server.url, rep, java_script_enabled=False):
        tab.goto(BOARD)
        tab.locator(f"#card-{leads[1].id} .card__move > summary").click()
        tab.get_by_role("link", name="Move it on the lead's page").click()
        tab.get_by_role("button", name="Contacted").click()
        expect(tab.locator("#messages")).to_contain_text("Moved to contacted")
        assert Lead.objects.get(pk=leads[1].pk).lead_status == "contacted"


def test_dragging_a_converted_card_says_it_is_final(page: Page) -> None:
    done = make_lead(status="converted", name="Closed Deal")
    page.goto(BOARD)
    page.locator(f"#card-{done.id} .card__age").drag_to(page.locator("#column-new .cards"))
    expect(page.locator("#messages")).to_contain_text("Not moved: converted is final.")
    expect(page.locator(f"#column-converted #card-{done.id}")).to_be_visible()
    assert Lead.objects.get(pk=done.pk).lead_status == "converted"


def test_a_refused_move_is_explained_on_the_card_itself(page: Page) -> None:
    done = make_lead(status="converted", name="Closed Deal")
    stale = make_lead(name="Moved Meanwhile")
    page.goto(BOARD)
    page.locator(f"#card-{done.id} .card__age").drag_to(page.locator("#column-new .cards"))
    final = page.locator(f"#card-{done.id} .card__note")
    expect(final).to_have_text("Not moved: converted is final.")

    # Someone else qualified it; this screen still shows it new and tries to contact it.
    Lead.objects.filter(pk=stale.pk).update(lead_status="qualified")
    card = page.locator(f"#card-{stale.id}")
    card.locator("summary", has_text="Move").click()
    card.get_by_role("button", name="Contacted", exact=True).click()
    note = page.locator(f"#column-qualified #card-{stale.id} .card__note")
    expect(note).to_contain_text("Not moved: it was moved to qualified")
    expect(final).to_have_count(0)  # one note at a time: the latest
