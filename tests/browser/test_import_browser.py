"""Issue 12: a chat-export upload answers at once, its page shows the import moving, then
the report — updated in place by polling, without reloading the page."""

import pytest
from playwright.sync_api import expect

from leads.bench import write_sample_chat_export
from leads.roles import MANAGER
from tests.browser.conftest import open_tab
from tests.browser.test_sale_browser import shots_dir
from tests.factories import make_group
from tests.people import person

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_upload_shows_progress_then_the_report(browser, live_server, settings, tmp_path):
    settings.IMPORT_WORKER = True
    make_group(name="Real Estate IL", keywords=["price"])
    export = tmp_path / "WhatsApp Chat.txt"
    with export.open("w", encoding="utf-8") as out:
        write_sample_chat_export(out, 6000)
    manager = person("mona", MANAGER)

    for tab in open_tab(browser, live_server.url, manager):
        tab.goto("/settings/import/")
        tab.get_by_label("File").set_input_files(str(export))
        tab.get_by_role("button", name="Import").click()

        expect(tab.get_by_role("heading", name="Import of WhatsApp Chat.txt")).to_be_visible()
        tab.evaluate("window.sameDocument = true")
        progress = tab.locator("#import-progress")
        expect(progress).to_be_visible(timeout=30_000)
        tab.screenshot(path=shots_dir(tmp_path) / "import-progress.png")
        expect(tab.locator("#import-job dl")).to_contain_text("Members seen", timeout=120_000)
        tab.screenshot(path=shots_dir(tmp_path) / "import-report.png")

        assert tab.evaluate("window.sameDocument") is True  # swapped in place, not reloaded
        expect(tab.locator("#import-job")).to_have_attribute("data-state", "done")
        expect(tab.locator("#import-job dl")).to_contain_text("Messages read6000")
        tab.goto("/settings/import/")
        expect(tab.locator("#recent-imports")).to_contain_text("WhatsApp Chat.txt")
