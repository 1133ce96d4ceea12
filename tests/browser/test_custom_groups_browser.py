"""Custom groups in a real browser (issue 15, item 9): made from the bulk bar, then seen,
renamed, thinned and exported from their own page."""

import csv
import io
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from leads.models import CustomGroup
from tests.browser.conftest import shots_dir
from tests.factories import make_group, make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_group_made_from_the_bulk_bar_is_seen_renamed_thinned_and_exported(
    manager_page: Page, tmp_path: Path
) -> None:
    page = manager_page
    group = make_group(name="Berlin flats")
    jonas = make_lead(group, name="Jonas", phone="+4915112345678", status="contacted")
    make_lead(group, name="Omar", phone="+972500000300")
    page.goto("/leads/")

    page.get_by_label("Select all leads on this page").check()
    page.locator("#bulk-new-group").fill("Hot buyers")
    page.get_by_role("button", name="Add", exact=True).click()

    message = page.locator("#messages")
    expect(message).to_contain_text("2 added to Hot buyers; 0 skipped")
    message.get_by_role("link", name="Hot buyers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hot buyers")
    members = page.locator("#custom-group-members tbody tr")
    expect(members).to_have_count(2)
    jonas_row = members.filter(has_text="Jonas")
    expect(jonas_row).to_contain_text("+49 1511 2345678")
    expect(jonas_row).to_contain_text("Contacted")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Custom groups")).to_have_attribute("aria-current", "page")
    shots = shots_dir(tmp_path)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.screenshot(path=shots / "custom-group-1440.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=shots / "custom-group-390.png", full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})

    jonas_row.get_by_role("link", name=re.compile("Jonas")).click()
    expect(page).to_have_url(re.compile(f"/leads/{jonas.id}/"))
    page.go_back()

    page.get_by_label("Name").fill("Warm buyers")
    page.get_by_role("button", name="Rename").click()
    expect(message).to_contain_text("Renamed to Warm buyers.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Warm buyers")

    page.get_by_role("button", name="Remove +972 50-000-0300 from Warm buyers").click()
    expect(message).to_contain_text("Removed +972 50-000-0300 from Warm buyers")
    expect(members).to_have_count(1)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    today = timezone.localdate().isoformat()
    assert download.suggested_filename == f"custom-group-warm-buyers-{today}.csv"
    text = Path(download.path()).read_bytes().decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text))) == [
        ["contact_phone", "contact_name"],
        ["+4915112345678", "Jonas"],
    ]

    page.get_by_role("link", name="Delete this group…").click()
    page.get_by_role("button", name="Yes, delete Warm buyers").click()
    expect(message).to_contain_text("Deleted Warm buyers.")
    expect(page.locator("main")).to_contain_text("No custom group yet.")
    assert not CustomGroup.objects.exists()
