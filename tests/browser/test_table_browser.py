"""The leads table in a real browser: filters in the URL, bulk across pages, exports, the panel.

Also the accessibility promises only a browser can check: a skip link, `/` to search, a
visible focus ring, labelled controls, and a page that fits a phone and 200% zoom.
"""

import csv
import io
import os
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, Locator, Page, expect

from leads.models import Lead, LeadStatusChange
from leads.services import Actor, lead_change_status
from tests.browser.conftest import open_tab
from tests.factories import make_group, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = "/leads/"


def rows(page: Page) -> Locator:
    return page.locator("table.leads tbody tr[id^=lead-]")


def shown_ids(page: Page) -> set[str]:
    return {
        row_id.removeprefix("lead-")
        for row_id in rows(page).evaluate_all("trs => trs.map(tr => tr.id)")
    }


# --- filters and search ---------------------------------------------------------------


def test_filtering_and_searching_update_the_url_and_back_restores_the_table(page: Page) -> None:
    group = make_group(name="Real Estate IL")
    dana = make_lead(group, name="Dana Levi")
    make_lead(group, name="Danny Katz", status="contacted")
    make_lead(group, name="Omar Haddad")
    page.goto(TABLE)
    expect(rows(page)).to_have_count(3)

    page.select_option("#id_status", "new")
    expect(page).to_have_url(re.compile(r"status=new"))
    expect(rows(page)).to_have_count(2)

    page.locator("#id_q").press_sequentially("dan")
    expect(page).to_have_url(re.compile(r"q=dan"))
    expect(rows(page)).to_have_count(1)
    expect(page.locator(f"#lead-{dana.id}")).to_be_visible()
    # The nav's Board link carries the search (not the table's own status filter).
    board = page.locator("a[data-board-link]")
    expect(board).to_have_attribute("href", re.compile(r"^/leads/board/\?(?!.*status=).*q=dan"))

    page.go_back()
    expect(page).to_have_url(re.compile(r"status=new"))
    expect(page).not_to_have_url(re.compile(r"q=dan"))
    expect(rows(page)).to_have_count(2)
    expect(board).not_to_have_attribute("href", re.compile(r"q=dan"))
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"status="))
    expect(rows(page)).to_have_count(3)


def test_a_row_ticked_right_after_a_search_stays_ticked(manager_page: Page) -> None:
    page = manager_page
    group = make_group()
    maria = make_lead(group, name="Maria Garcia")
    make_lead(group, name="Omar Haddad")
    page.goto(TABLE)
    asked: list[str] = []
    page.on(
        "request", lambda request: asked.append(request.url) if "q=maria" in request.url else None
    )
    page.locator("#id_q").press_sequentially("maria")
    expect(rows(page)).to_have_count(1)
    page.wait_for_timeout(500)
    searches = len(asked)

    # Ticking the row takes the focus out of the search box: that must not ask again.
    tick = page.locator(f"#lead-{maria.id} input[name=lead]")
    tick.check()
    page.wait_for_timeout(1000)
    expect(tick).to_be_checked()
    assert len(asked) == searches


def test_a_link_with_the_focus_keeps_it_through_a_live_refresh(page: Page) -> None:
    group = make_group()
    reading = make_lead(group, name="Dana Levi")
    moving = make_lead(group, name="Omar Haddad")
    page.goto(TABLE)
    link = page.locator(f"#lead-{reading.id} a.lead-link")
    link.focus()
    # Someone else moves another lead: the rows are redrawn, the keyboard stays where it was.
    lead_change_status(moving.id, "contacted", Actor.system("test"))
    expect(page.locator(f"#lead-{moving.id}")).to_have_attribute("data-status", "contacted")
    expect(link).to_be_focused()


# --- bulk actions ---------------------------------------------------------------------


def test_select_all_matching_moves_the_leads_on_every_page(manager_page: Page) -> None:
    page = manager_page
    group = make_group()
    for n in range(30):
        make_lead(group, name=f"Buyer {n:02d}")
    seller = make_lead(group, name="Seller", keyword="rent", preview="Flat for rent")
    page.goto(f"{TABLE}?q=price&page_size=25")
    expect(rows(page)).to_have_count(25)
    expect(page.locator(".pagination")).to_contain_text("of 30")

    page.get_by_label("All 30 matching leads, not only the ticked ones").check()
    page.select_option("#bulk-status", "contacted")
    page.get_by_role("button", name="Change status", exact=True).click()

    expect(page.locator("#messages")).to_contain_text("30 moved to contacted.")
    assert Lead.objects.filter(lead_status="contacted").count() == 30
    assert Lead.objects.get(pk=seller.pk).lead_status == "new"


def test_a_partly_refused_bulk_change_links_to_exactly_the_leads_not_moved(
    manager_page: Page,
) -> None:
    page = manager_page
    group = make_group()
    movable = [make_lead(group, name=f"Fresh {n}") for n in range(3)]
    closed = [make_lead(group, name=f"Closed {n}", status="converted") for n in range(2)]
    page.goto(TABLE)
    expect(rows(page)).to_have_count(5)

    page.get_by_label("Select all leads on this page").check()
    expect(page.locator("input[name=lead]:checked")).to_have_count(5)
    page.select_option("#bulk-status", "lost")
    page.get_by_role("button", name="Change status", exact=True).click()

    message = page.locator("#messages")
    expect(message).to_contain_text("3 moved to lost; 2 not moved: converted is final")
    assert {lead.lead_status for lead in Lead.objects.filter(pk__in=[m.pk for m in movable])} == {
        "lost"
    }
    message.get_by_role("link", name="Show the leads not moved").click()
    expect(page).to_have_url(re.compile(r"ids="))
    expect(rows(page)).to_have_count(2)
    assert shown_ids(page) == {str(lead.id) for lead in closed}
    expect(page.locator("#leads-results")).to_contain_text("Showing 2 leads picked by id")


# --- exports --------------------------------------------------------------------------


def test_the_csv_export_downloads_the_filtered_rows_with_a_bom_and_hebrew_intact(
    manager_page: Page,
) -> None:
    page = manager_page
    group = make_group(name="דירות בתל אביב")
    make_lead(group, name="דנה לוי", keyword="מחיר", preview="מה המחיר של הדירה?")
    make_lead(group, name="Omar Haddad", keyword="price", preview="What's the price?")
    page.goto(TABLE)
    expect(rows(page)).to_have_count(2)
    page.locator("#id_q").fill("מחיר")
    expect(page).to_have_url(re.compile(r"q=%D7%9E"))
    expect(rows(page)).to_have_count(1)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV", exact=True).click()
    download = download_info.value
    # Named after the filter and the day, not a bare leads.csv.
    assert download.suggested_filename == f"leads-מחיר-{timezone.localdate().isoformat()}.csv"
    data = Path(download.path()).read_bytes()

    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only after a BOM
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0][:4] == ["id", "contact_phone", "contact_name", "lead_status"]
    assert [line[2] for line in table[1:]] == ["דנה לוי"]
    assert "דירות בתל אביב" in table[1]


# --- the detail panel -----------------------------------------------------------------


def test_the_detail_panel_opens_beside_the_table_and_moves_the_lead(page: Page) -> None:
    lead = make_lead(name="Avi Cohen", preview="Is the price negotiable?")
    page.goto(TABLE)
    page.locator(f"#lead-{lead.id} a.lead-link").click()
    panel = page.locator("#lead-panel")
    expect(panel.locator("h2")).to_have_text("Avi Cohen")
    expect(panel.locator("mark")).to_have_text("price")
    expect(page).to_have_url(re.compile(rf"/leads/{lead.id}/$"))  # the panel has its own URL

    panel.locator("button[name=status][value=contacted]").click()
    expect(panel.locator(".history")).to_contain_text("new → contacted")
    # The table's row follows without a reload.
    expect(page.locator(f"#lead-{lead.id}")).to_have_attribute("data-status", "contacted")
    assert Lead.objects.get(pk=lead.pk).lead_status == "contacted"
    assert LeadStatusChange.objects.filter(lead=lead, to_status="contacted").count() == 1


# --- accessibility --------------------------------------------------------------------


def unlabelled_controls(page: Page) -> list[str]:
    """Form controls in the page with no accessible name (no label, no aria-label)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll(
              'main input:not([type=hidden]), main select, main textarea'))
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .map(el => el.outerHTML.slice(0, 120))"""
    )


def overflows_sideways(page: Page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )


def check_keyboard_promises(page: Page) -> None:
    # The first Tab reaches the skip link, which shows itself and jumps to the content.
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    # The focus ring is visible: a solid outline, not the browser's faint default or none.
    page.keyboard.press("Tab")
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline == ["solid", "3px"], outline
    # "/" focuses the search box from anywhere but a field.
    page.locator("#leads-heading").click()
    page.keyboard.press("/")
    expect(page.locator("#id_q")).to_be_focused()


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("phone-390", {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1}),
        # A 1280×900 window at 200% zoom lays out 640×450 CSS pixels at 2 device pixels each.
        ("zoom-200", {"viewport": {"width": 640, "height": 450}, "device_scale_factor": 2}),
    ],
)
def test_the_table_fits_a_phone_and_200_percent_zoom_and_keeps_its_keyboard_promises(
    browser: Browser,
    live_server: object,
    manager: User,
    tmp_path: Path,
    name: str,
    options: dict[str, object],
) -> None:
    group = make_group(name="Real Estate IL — North district apartments")
    for n in range(6):
        make_lead(
            group,
            name=f"Contact with a rather long name {n}",
            preview="Looking for a 3-bedroom apartment near the beach, what's the price? " * 2,
        )
    make_lead(group, name="דנה לוי", keyword="מחיר", preview="מה המחיר של הדירה?")
    for page in open_tab(browser, live_server.url, manager, **options):  # type: ignore[attr-defined]
        page.goto(TABLE)
        expect(rows(page)).to_have_count(7)
        # The picture first, so a failure below leaves it to look at.
        shots = Path(os.environ.get("LEADS_SCREENSHOT_DIR") or tmp_path)
        page.screenshot(path=str(shots / f"leads-table-{name}.png"), full_page=True)
        assert unlabelled_controls(page) == []
        assert not overflows_sideways(page), f"{name}: the page scrolls sideways"
        # Every row's cells stay inside the screen (stacked cards at phone width).
        widest = page.evaluate(
            "() => Math.max(...Array.from(document.querySelectorAll('table.leads td'))"
            ".map(td => td.getBoundingClientRect().right))"
        )
        assert widest <= page.viewport_size["width"] + 1, (name, widest)
        check_keyboard_promises(page)
