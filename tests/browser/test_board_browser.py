"""The board in a real browser: drag-and-drop, forbidden drops, stale moves and the keyboard."""

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from leads.assignments import lead_take
from leads.models import Lead, LeadStatusChange
from leads.services import Actor, lead_change_status
from tests.factories import make_group, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

BOARD = "/leads/board/"


def card(page: Page, lead: Lead) -> object:
    return page.locator(f"#card-{lead.id}")


def drag(page: Page, lead: Lead, status: str) -> None:
    """Drag the card by its top strip (not a button) and drop it in a column's card list."""
    page.locator(f"#card-{lead.id} .card__age").drag_to(page.locator(f"#column-{status} .cards"))


def test_dragging_a_card_to_an_allowed_column_moves_it(page: Page, rep: User) -> None:
    group = make_group(name="Real Estate IL")
    lead = make_lead(group, name="Avi Cohen")
    make_lead(group, name="Other New")
    page.goto(BOARD)
    expect(page.locator("#count-new")).to_have_text("2")
    drag(page, lead, "contacted")
    expect(page.locator(f"#column-contacted #card-{lead.id}")).to_be_visible()
    expect(page.locator(f"#card-{lead.id}")).not_to_have_class("card card--pending")
    expect(page.locator("#count-contacted")).to_have_text("1")
    expect(page.locator("#count-new")).to_have_text("1")
    expect(page.locator("#messages")).to_contain_text("Moved to contacted.")
    assert Lead.objects.get(pk=lead.pk).lead_status == "contacted"
    # It stays: a fresh page draws it there, and its history says who moved it.
    page.reload()
    expect(page.locator(f"#column-contacted #card-{lead.id}")).to_be_visible()
    page.locator(f"#card-link-{lead.id}").click()
    expect(page.locator("#lead-panel .history")).to_contain_text("new → contacted")
    expect(page.locator("#lead-panel .history")).to_contain_text(rep.username)


def test_a_column_the_card_may_not_enter_refuses_the_drop(page: Page) -> None:
    lead = make_lead(status="qualified", name="Quinn")
    done = make_lead(status="converted", name="Closed Deal")
    page.goto(BOARD)
    # A converted card has nowhere to go: picking it up only says so (test_board_cards_browser).
    expect(page.locator(f"#card-{done.id}")).to_have_attribute("data-final", "")
    expect(card(page, lead)).to_have_attribute("draggable", "true")
    # While dragging, the forbidden columns are marked disabled, the allowed ones are not.
    page.locator(f"#card-{lead.id} .card__age").hover()
    page.mouse.down()
    page.locator("#column-new .board-column__heading").hover()
    page.locator("#column-contacted .board-column__heading").hover()
    expect(page.locator("#column-new")).to_have_attribute("aria-disabled", "true")
    expect(page.locator("#column-contacted")).to_have_attribute("aria-disabled", "true")
    expect(page.locator("#column-converted")).to_have_class("board-column board-column--allowed")
    page.mouse.up()
    expect(page.locator(f"#column-qualified #card-{lead.id}")).to_be_visible()
    expect(page.locator("#messages")).to_contain_text(
        "Not moved: qualified cannot move to contacted."
    )
    expect(page.locator("#column-new")).not_to_have_attribute("aria-disabled", "true")
    assert Lead.objects.get(pk=lead.pk).lead_status == "qualified"
    assert not LeadStatusChange.objects.filter(lead=lead).exists()


def test_a_stale_drop_is_refused_and_the_card_jumps_to_its_true_column(page: Page) -> None:
    lead = make_lead(name="Avi Cohen")
    page.goto(BOARD)
    expect(page.locator(f"#column-new #card-{lead.id}")).to_be_visible()
    # Someone else moves it while this screen still shows it under "new".
    lead_change_status(lead.id, "qualified", Actor(kind="user", label="Noa"))
    # Ten minutes back: the age reads "10 min" for a whole minute, however slowly the drop
    # runs ("30 s" became "31 s" on a loaded machine).
    LeadStatusChange.objects.filter(lead=lead).update(
        changed_at=timezone.now() - timedelta(minutes=10)
    )
    drag(page, lead, "contacted")
    expect(page.locator("#messages")).to_contain_text("moved to qualified 10 min ago by Noa")
    expect(page.locator(f"#column-qualified #card-{lead.id}")).to_be_visible()
    expect(page.locator("#count-qualified")).to_have_text("1")
    expect(page.locator("#count-contacted")).to_have_text("0")
    assert Lead.objects.get(pk=lead.pk).lead_status == "qualified"


def test_dropping_on_lost_asks_why_and_keeps_the_reason(page: Page) -> None:
    lead = make_lead(status="contacted", name="Avi Cohen")
    page.goto(BOARD)
    drag(page, lead, "lost")
    dialog = page.locator("#lost-reason-dialog")
    expect(dialog).to_be_visible()
    page.locator("#lost-reason-input").fill("Bought elsewhere")
    page.keyboard.press("Enter")
    # Drawn in Lost at once but marked unconfirmed; settled only when the server answers.
    expect(page.locator("#count-lost")).to_have_text("1")
    expect(page.locator(f"#column-lost #card-{lead.id}:not([aria-busy])")).to_be_visible()
    assert LeadStatusChange.objects.get(lead=lead).reason == "Bought elsewhere"


def test_cancelling_the_lost_question_moves_nothing(page: Page) -> None:
    lead = make_lead(status="contacted", name="Avi Cohen")
    page.goto(BOARD)
    drag(page, lead, "lost")
    expect(page.locator("#lost-reason-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator(f"#column-contacted #card-{lead.id}")).to_be_visible()
    assert Lead.objects.get(pk=lead.pk).lead_status == "contacted"


def test_a_card_moves_by_keyboard(page: Page) -> None:
    lead = make_lead(name="Avi Cohen")
    page.goto(BOARD)
    page.locator(f"#card-link-{lead.id}").focus()
    page.keyboard.press("Tab")  # the card's one "Move" control
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator(f"#move-{lead.id}-contacted")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(f"#column-contacted #card-{lead.id}")).to_be_visible()
    expect(page.locator("#count-contacted")).to_have_text("1")
    # Focus follows the card to its new column, so the next Tab continues from there.
    expect(page.locator(f"#card-link-{lead.id}")).to_be_focused()
    assert Lead.objects.get(pk=lead.pk).lead_status == "contacted"


def test_a_phone_shows_one_column_at_a_time(page: Page) -> None:
    make_lead(name="Avi Cohen")
    make_lead(status="contacted", name="Bea Contacted")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(BOARD)
    expect(page.locator("#column-new")).to_be_visible()
    expect(page.locator("#column-contacted")).to_be_hidden()
    page.get_by_role("navigation", name="Pipeline columns").get_by_role(
        "link", name="Contacted"
    ).click()
    expect(page.locator("#column-contacted")).to_be_visible()
    expect(page.locator("#column-new")).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/leads/board/\?col=contacted$"))


def test_on_a_phone_the_cards_come_before_the_filters_nobody_set(page: Page) -> None:
    group = make_group(name="Real Estate IL")
    lead = make_lead(group, name="Avi Cohen")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(BOARD)
    more = page.locator("#board-filters .filters__more")
    expect(more).not_to_have_attribute("open", "")
    expect(page.locator("#id_group")).to_be_hidden()
    expect(page.locator("#id_q")).to_be_visible()  # the search stays at hand
    expect(page.locator(f"#card-{lead.id}")).to_be_in_viewport()
    # A wider screen (a phone turned, a window widened) shows them inline, without a summary.
    page.set_viewport_size({"width": 1440, "height": 900})
    expect(page.locator("#id_due")).to_be_visible()
    expect(more.locator("summary")).to_be_hidden()
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#id_due")).to_be_hidden()
    more.locator("summary").click()
    page.select_option("#id_group", label="Real Estate IL")
    expect(page).to_have_url(re.compile(r"group="))
    page.reload()  # a filter that is set is shown, and counted
    expect(more).to_have_attribute("open", "")
    expect(more.locator("summary")).to_have_text("More filters (1 set)")


def test_on_a_phone_a_card_moved_to_a_hidden_column_leaves_focus_on_its_tab(page: Page) -> None:
    lead = make_lead(name="Avi Cohen")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(BOARD)
    page.locator(f"#card-{lead.id} .card__move > summary").click()
    page.locator(f"#card-{lead.id} button[name=status][value=contacted]").click()
    expect(page.locator("#messages")).to_contain_text("Moved to contacted.")
    tab = page.get_by_role("navigation", name="Pipeline columns").get_by_role(
        "link", name="Contacted"
    )
    expect(tab).to_be_focused()  # not <body>: Enter shows the card where it went
    page.keyboard.press("Enter")
    expect(page.locator(f"#column-contacted #card-{lead.id}")).to_be_visible()


def test_a_drop_the_server_never_confirms_snaps_back(page: Page) -> None:
    lead = make_lead(name="Avi Cohen")
    page.goto(BOARD)
    page.route("**/status/", lambda route: route.abort())
    drag(page, lead, "contacted")
    expect(page.locator("#messages")).to_contain_text("the server could not be reached")
    expect(page.locator(f"#column-new #card-{lead.id}")).to_be_visible()
    expect(page.locator(f"#card-{lead.id}")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("#count-new")).to_have_text("1")
    assert Lead.objects.get(pk=lead.pk).lead_status == "new"


def test_a_live_update_redraws_the_columns_and_keeps_the_open_panel(page: Page) -> None:
    group = make_group()
    leads = [make_lead(group, name=f"Lead {n}") for n in range(25)]
    page.goto(BOARD)
    page.get_by_role("link", name="Show 20 more").click()
    expect(page.locator("#column-new .card")).to_have_count(25)
    expect(page).to_have_url(re.compile(r"shown_new=40"))
    page.locator(f"#card-link-{leads[0].id}").click()
    expect(page.locator("#lead-panel h2")).to_have_text("Lead 0")
    # Someone else moves a lead; live.js announces it with `leads-changed` on <body>.
    lead_change_status(leads[-1].id, "qualified", Actor(kind="user", label="Noa"))
    page.evaluate("document.body.dispatchEvent(new CustomEvent('leads-changed'))")
    expect(page.locator(f"#column-qualified #card-{leads[-1].id}")).to_be_visible()
    expect(page.locator("#count-new")).to_have_text("24")
    expect(page.locator("#column-new .card")).to_have_count(24)  # the loaded cards stay loaded
    expect(page.locator("#lead-panel h2")).to_have_text("Lead 0")


def test_a_move_from_the_open_panel_redraws_the_board(page: Page) -> None:
    lead = make_lead(name="Avi Cohen")
    page.goto(BOARD)
    page.locator(f"#card-link-{lead.id}").click()
    expect(page.locator("#lead-panel h2")).to_have_text("Avi Cohen")
    page.locator("#lead-panel").get_by_role("button", name="Qualified").click()
    expect(page.locator(f"#column-qualified #card-{lead.id}")).to_be_visible()
    expect(page.locator("#count-new")).to_have_text("0")
    expect(page.locator("#lead-panel")).to_contain_text("new → qualified")


def test_a_live_update_draws_again_only_the_cards_that_changed(page: Page) -> None:
    # A move touches two of five columns and one card in each; everything else arrives as it
    # was last drawn and keeps its element (static/js/board.js): parsing and laying out the
    # unchanged cards again was most of a screen's CPU, times every screen on the wall.
    old = timezone.now() - timedelta(days=3)  # ages shown as dates: the same on every redraw
    group = make_group()
    first, second, staying = (
        make_lead(group, name=f"Mover {n}", detected_at=old - timedelta(minutes=n))
        for n in range(3)
    )
    lost = make_lead(group, status="lost", name="Long Gone", detected_at=old)
    page.goto(BOARD)

    def someone_moves(lead: Lead, status: str) -> None:
        lead_change_status(lead.id, status, Actor(kind="user", label="Noa"))
        page.evaluate("document.body.dispatchEvent(new CustomEvent('leads-changed'))")
        expect(page.locator(f"#column-{status} #card-{lead.id}")).to_be_visible()

    someone_moves(first, "contacted")  # the first redraw draws every column
    page.evaluate(
        "document.querySelectorAll('.board-column, .card, .count')"
        ".forEach(e => { e.__kept = true; })"
    )
    someone_moves(second, "qualified")

    def kept(selector: str) -> dict[str, bool]:
        return page.evaluate(
            f"Object.fromEntries([...document.querySelectorAll('{selector}')]"
            ".map(e => [e.id, e.__kept === true]))"
        )

    # Every column keeps its element; in the two that changed, only the moved card and the
    # counts are new.
    assert set(kept(".board-column").values()) == {True}
    assert kept(".card") == {
        f"card-{first.id}": True,
        f"card-{second.id}": False,
        f"card-{staying.id}": True,
        f"card-{lost.id}": True,
    }
    assert not kept("#count-new, #count-qualified")["count-new"]
    assert kept("#count-contacted, #count-lost")["count-contacted"]
    expect(page.locator("#column-new .card")).to_have_count(1)
    expect(page.locator("#count-new")).to_have_text("1")
    expect(page.locator("#count-qualified")).to_have_text("1")
    # A column left empty says so (drawn whole: its "No new leads" line has no id to match).
    someone_moves(staying, "contacted")
    expect(page.locator("#column-new")).to_contain_text("No new leads.")
    expect(page.locator("#column-contacted .card")).to_have_count(2)
    # The kept cards still work: a kept card's menu opens and moves it.
    page.locator(f"#card-{lost.id} .card__move > summary").click()
    page.locator(f"#card-{lost.id}").get_by_role("button", name="Reopen").click()
    expect(page.locator(f"#column-new #card-{lost.id}")).to_be_visible()
    assert Lead.objects.get(pk=lost.pk).lead_status == "new"


def test_a_note_on_a_kept_card_goes_when_its_column_is_redrawn(page: Page) -> None:
    # A card that a script wrote on (a refusal's note) is not as it was drawn: when its
    # column changes, the live redraw draws it anew instead of keeping the stale words.
    old = timezone.now() - timedelta(days=3)
    done = make_lead(status="converted", name="Closed Deal", detected_at=old)
    mover = make_lead(status="contacted", name="About To Sign", detected_at=old)
    page.goto(BOARD)

    def someone_moves(status: str) -> None:
        lead_change_status(mover.id, status, Actor(kind="user", label="Noa"))
        page.evaluate("document.body.dispatchEvent(new CustomEvent('leads-changed'))")
        expect(page.locator(f"#column-{status} #card-{mover.id}")).to_be_visible()

    someone_moves("qualified")  # the first redraw draws every card; the next ones compare
    page.locator(f"#card-{done.id} .card__age").drag_to(page.locator("#column-new .cards"))
    expect(page.locator(f"#card-{done.id} .card__note")).to_have_text(
        "Not moved: converted is final."
    )
    someone_moves("converted")
    expect(page.locator(f"#card-{done.id}")).to_be_visible()
    expect(page.locator(f"#card-{done.id} .card__note")).to_have_count(0)


def someone_else(page: Page, change: Callable[[], object]) -> None:
    """A change made on another screen, announced to this one as live.js would."""
    change()
    page.evaluate("document.body.dispatchEvent(new CustomEvent('leads-changed'))")


def test_an_open_menu_stays_open_and_focused_while_the_board_follows_changes(
    page: Page, rep: User
) -> None:
    # A menu left open used to hold every live refresh back (the header still said
    # "Updated"); now the board follows, and the menu and its focus stay where they were.
    old = timezone.now() - timedelta(days=3)  # ages shown as dates: unchanged by redraws
    group = make_group()
    holder = make_lead(group, name="Menu Holder", detected_at=old)
    other = make_lead(group, name="Other Lead", detected_at=old - timedelta(minutes=1))
    page.goto(BOARD)
    page.locator(f"#card-{holder.id} .card__move > summary").click()
    contacted = page.locator(f"#card-{holder.id} button[name=status][value=contacted]")
    contacted.focus()

    # Another card moves: the first redraw after loading draws every card again.
    someone_else(page, lambda: lead_change_status(other.id, "qualified", Actor.system("t")))
    expect(page.locator(f"#column-qualified #card-{other.id}")).to_be_visible()
    expect(page.locator(f"#card-{holder.id} .card__move")).to_have_attribute("open", "")
    expect(contacted).to_be_focused()

    # The card with the open menu changes where it is (an owner): drawn again, menu kept.
    someone_else(page, lambda: lead_take(holder.id, rep))
    expect(page.locator(f"#card-{holder.id} .card__owner")).to_contain_text("Dana")
    expect(page.locator(f"#card-{holder.id} .card__move")).to_have_attribute("open", "")
    expect(contacted).to_be_focused()

    # The carried menu still works.
    page.keyboard.press("Enter")
    expect(page.locator(f"#column-contacted #card-{holder.id}")).to_be_visible()
    assert Lead.objects.get(pk=holder.pk).lead_status == "contacted"


def test_focus_follows_a_card_another_screen_moves(page: Page) -> None:
    lead = make_lead(name="Moved Elsewhere")
    page.goto(BOARD)
    summary = f"#card-{lead.id} .card__move > summary"
    page.locator(summary).focus()
    someone_else(page, lambda: lead_change_status(lead.id, "contacted", Actor.system("t")))
    expect(page.locator(f"#column-contacted {summary}")).to_be_focused()


def test_a_board_just_loaded_or_swapped_whole_keeps_its_unchanged_cards(page: Page) -> None:
    # A page load (or the whole swap after this screen's own move) leaves no markup to compare
    # with; each card's data-v, a hash of its markup, says which cards are unchanged.
    old = timezone.now() - timedelta(days=3)  # ages shown as dates: the same on every redraw
    group = make_group()
    leads = [
        make_lead(group, name=f"Card {n}", detected_at=old - timedelta(minutes=n)) for n in range(4)
    ]
    page.goto(BOARD)
    mark = "document.querySelectorAll('.card').forEach(e => { e.__kept = true; })"
    kept = (
        "Object.fromEntries([...document.querySelectorAll('.card')].map(e => [e.id, !!e.__kept]))"
    )

    def redrawn_after(change: Callable[[], object], lead: Lead, status: str) -> set[str]:
        page.evaluate(mark)
        someone_else(page, change)
        expect(page.locator(f"#column-{status} #card-{lead.id}")).to_be_visible()
        return {card for card, was_kept in page.evaluate(kept).items() if not was_kept}

    moved = leads[0]
    assert redrawn_after(
        lambda: lead_change_status(moved.id, "contacted", Actor.system("t")), moved, "contacted"
    ) == {f"card-{moved.id}"}

    # This screen's own move: the server answers with the whole board, swapped in by htmx.
    own = leads[1]
    page.locator(f"#card-{own.id} .card__move > summary").click()
    page.locator(f"#card-{own.id} button[name=status][value=qualified]").click()
    expect(page.locator(f"#column-qualified #card-{own.id}")).to_be_visible()
    other = leads[2]
    assert redrawn_after(
        lambda: lead_change_status(other.id, "contacted", Actor.system("t")), other, "contacted"
    ) == {f"card-{other.id}"}
