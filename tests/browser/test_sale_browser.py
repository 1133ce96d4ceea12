"""Sales work in a real browser: whose leads the table shows, and the owner on table and board.

Screenshots go to `LEADS_SCREENSHOT_DIR` when it is set (to look at), else a temporary folder.
"""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from playwright.sync_api import Browser, Locator, Page, expect

from leads import assignments
from leads.models import Lead, LeadFollowUp, MessageTemplate, WallLink
from leads.roles import MANAGER, REP, set_user_role
from tests.browser.conftest import open_tab, shots_dir
from tests.factories import make_group, make_lead
from tests.fake_waha import fake_waha

pytestmark = pytest.mark.django_db(transaction=True)

TABLE, BOARD = "/leads/", "/leads/board/"
SIZES = {"desktop": (1440, 900), "tv": (1920, 1080), "phone": (390, 844)}


def rows(page: Page) -> Locator:
    return page.locator("table.leads tbody tr[id^=lead-]")


@pytest.fixture
def rita(transactional_db: None) -> User:
    user = User.objects.create_user("rita", password="pw", first_name="Rita")
    set_user_role(user, REP)
    return user


@pytest.fixture
def team_leads(rep: User, rita: User) -> dict[str, Lead]:
    """Dana (the `rep` fixture) owns one lead, Rita one, and one is nobody's."""
    group = make_group(name="Real Estate IL")
    made = {
        "danas": make_lead(group, name="Buyer of Dana"),
        "ritas": make_lead(group, name="Buyer of Rita"),
        "nobodys": make_lead(group, name="Buyer of nobody"),
    }
    assignments.lead_take(made["danas"].id, rep)
    assignments.lead_take(made["ritas"].id, rita)
    return made


def test_a_rep_starts_on_their_leads_and_switches_to_the_unassigned_ones(
    page: Page, team_leads: dict[str, Lead]
) -> None:
    page.goto(TABLE)
    expect(rows(page)).to_have_count(1)
    expect(page.locator(f"#lead-{team_leads['danas'].id} td.owner")).to_have_text("Dana")

    page.select_option("#id_owner", "none")
    expect(page).to_have_url(re.compile(r"owner=none"))
    expect(rows(page)).to_have_count(1)
    expect(page.locator(f"#lead-{team_leads['nobodys'].id} td.owner")).to_have_text("unassigned")

    page.select_option("#id_owner", "")
    expect(rows(page)).to_have_count(3)
    expect(page.locator(f"#lead-{team_leads['ritas'].id} td.owner")).to_have_text("Rita")

    page.go_back()
    expect(page).to_have_url(re.compile(r"owner=none"))
    expect(rows(page)).to_have_count(1)


@pytest.mark.parametrize("size", SIZES)
def test_owners_read_on_the_table_and_the_board_at_every_size(
    browser: Browser,
    live_server: object,
    rep: User,
    team_leads: dict[str, Lead],
    size: str,
    tmp_path: Path,
) -> None:
    width, height = SIZES[size]
    base = live_server.url  # type: ignore[attr-defined]
    for page in open_tab(browser, base, rep, viewport={"width": width, "height": height}):
        page.goto(f"{TABLE}?owner=")
        expect(rows(page)).to_have_count(3)
        page.screenshot(path=str(shots_dir(tmp_path) / f"owners-table-{size}.png"), full_page=True)
        page.goto(BOARD)
        card = page.locator(f"#card-{team_leads['ritas'].id}")
        expect(card.locator(".card__owner")).to_have_text("Owner: Rita")
        expect(page.locator(f"#card-{team_leads['nobodys'].id} .card__owner")).to_have_count(0)
        page.screenshot(path=str(shots_dir(tmp_path) / f"owners-board-{size}.png"), full_page=True)
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"{size}: the board scrolls sideways"


def test_a_rep_sets_a_follow_up_in_the_side_panel_and_the_timeline_says_so(
    page: Page, rep: User, tmp_path: Path
) -> None:
    lead = make_lead(name="Dana Levi")
    page.goto(f"{TABLE}?owner=")
    page.locator(f"#lead-{lead.id} a.lead-link").click()
    panel = page.locator("#lead-panel")
    expect(panel.locator("#follow-up-at")).to_be_visible()
    # A minute from now, as the field writes it (the server reads it in UTC, its time zone).
    soon = page.evaluate(
        "() => { const d = new Date(Date.now() + 60000); return d.toISOString().slice(0, 16); }"
    )
    panel.locator("#follow-up-at").fill(soon)
    panel.get_by_role("button", name="Set follow-up").click()
    expect(panel.locator("#lead-follow-up time.due")).to_be_visible()
    expect(panel.locator("#lead-timeline")).to_contain_text("set a follow-up for")
    page.screenshot(path=str(shots_dir(tmp_path) / "follow-up-panel-desktop.png"), full_page=True)
    assert LeadFollowUp.objects.filter(lead_id=lead.id).exists()


def test_a_board_card_sets_a_follow_up_without_leaving_the_board(
    browser: Browser, live_server: object, rep: User, tmp_path: Path
) -> None:
    lead = make_lead(name="Dana Levi")
    base = live_server.url  # type: ignore[attr-defined]
    for page in open_tab(browser, base, rep, viewport={"width": 390, "height": 844}):
        page.goto(f"{BOARD}?q=dana")
        card = page.locator(f"#card-{lead.id}")
        card.get_by_text("Follow up…").click()
        card.locator("input[type=datetime-local]").fill("2030-01-02T09:30")
        page.screenshot(path=str(shots_dir(tmp_path) / "follow-up-card-phone.png"), full_page=True)
        card.get_by_role("button", name="Set", exact=True).click()
        expect(page).to_have_url(re.compile(r"/leads/board/\?q=dana$"))
        due = page.locator(f"#card-{lead.id} .card__due")
        expect(due).to_contain_text("Jan. 2, 2030, 9:30 a.m.")


def test_a_rep_messages_a_cold_lead_on_whatsapp_after_confirming(
    page: Page, rep: User, tmp_path: Path
) -> None:
    MessageTemplate.objects.create(name="First touch", body="Hi {first_name}, about {keyword}?")
    lead = make_lead(make_group(name="Real Estate IL"), name="Omar Haddad", keyword="3 rooms")
    page.set_default_timeout(20_000)  # a loaded machine: the first page can take seconds
    with fake_waha() as waha, override_settings(WAHA_API_URL=waha.url, WAHA_API_KEY="k"):
        page.goto(f"/leads/{lead.id}/")
        page.get_by_role("link", name="Message on WhatsApp").click()
        expect(page.locator("#cold-warning")).to_contain_text("spam detection")
        page.get_by_role("button", name="Use it").click()
        text = page.locator("#message-text")
        expect(text).to_have_value("Hi Omar, about 3 rooms?")
        text.fill("Hi Omar, still looking for 3 rooms?")
        for size, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=str(shots_dir(tmp_path) / f"message-{size}.png"), full_page=True)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.get_by_role("button", name="Send via WAHA").click()
        assert waha.sent == []  # the unticked confirmation stops the form in the browser
        page.get_by_label("I understand this is a cold message").check()
        page.get_by_role("button", name="Send via WAHA").click()
        expect(page.locator("#messages")).to_contain_text("Sent on WhatsApp and moved it")
        expect(page.locator("#lead-timeline")).to_contain_text(
            "sent on WhatsApp: Hi Omar, still looking for 3 rooms?"
        )
        assert [sent["json"]["text"] for sent in waha.sent] == [
            "Hi Omar, still looking for 3 rooms?"
        ]
    assert Lead.objects.get(pk=lead.pk).lead_status == "contacted"


@pytest.mark.parametrize("size", ["tv", "desktop"])
def test_the_wall_numbers_show_the_team_and_fit_the_screen(
    browser: Browser,
    live_server: object,
    rep: User,
    team_leads: dict[str, Lead],
    size: str,
    tmp_path: Path,
) -> None:
    _, token = WallLink.issue("Sales floor", rotate=False)
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        tv = context.new_page()
        tv.set_default_timeout(20_000)  # a loaded machine: the first page can take seconds
        tv.goto(f"{live_server.url}/wall/{token}/")  # type: ignore[attr-defined]
        tv.evaluate("() => document.querySelector('.wall').classList.add('wall--show-numbers')")
        tv.evaluate("() => document.querySelector('.wall').classList.remove('wall--show-board')")
        team = tv.locator(".wall-team__table")
        expect(team).to_contain_text("Dana")
        expect(team).to_contain_text("Rita")
        tv.screenshot(path=str(shots_dir(tmp_path) / f"wall-team-{size}.png"))
        box = tv.locator(".wall-team").bounding_box()
        assert box is not None and box["y"] + box["height"] <= height, "the team panel is cut"
    finally:
        context.close()


def test_a_manager_turns_on_automatic_assignment_for_a_group(
    browser: Browser, live_server: object, rep: User, rita: User, tmp_path: Path
) -> None:
    manager = User.objects.create_user("maya", password="pw", first_name="Maya")
    set_user_role(manager, MANAGER)
    group = make_group(name="Real Estate IL")
    for page in open_tab(browser, live_server.url, manager):  # type: ignore[attr-defined]
        page.set_default_timeout(20_000)  # a loaded machine: the first page can take seconds
        page.goto("/settings/auto-assign/")
        section = page.locator(f"section[aria-labelledby='auto-assign-{group.id}']")
        section.get_by_label("Dana").check()
        section.get_by_label("Rita").check()
        section.get_by_role("button", name="Save for this group").click()
        expect(page.locator("#messages")).to_contain_text("now go to 2 in turn")
        page.screenshot(path=str(shots_dir(tmp_path) / "auto-assign-desktop.png"), full_page=True)
    owners = [assignments.owner_of(make_lead(group).id) for _ in range(2)]
    assert sorted(owner.label for owner in owners if owner) == ["Dana", "Rita"]
