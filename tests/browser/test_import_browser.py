"""Issue 12: a chat-export upload answers at once, its page shows the import moving, then
the report — updated in place by polling, without reloading the page."""

import threading

import pytest
from django.db import connections
from django.utils import timezone
from playwright.sync_api import expect

from leads.bench import write_sample_chat_export
from leads.import_jobs import run_queued_jobs
from leads.roles import MANAGER
from tests.browser.conftest import open_tab
from tests.browser.test_sale_browser import shots_dir
from tests.factories import make_group
from tests.people import person

pytestmark = pytest.mark.django_db(transaction=True)


class HeldImport:
    """Runs the queued import in a thread whose clock stops at the job's first lease renewal
    until `release()`: on a quiet machine 6,000 messages import faster than a page polls, so
    without the hold "shows the import moving" would depend on the machine's speed."""

    def __init__(self) -> None:
        self.calls = 0
        self.released = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def clock(self):
        self.calls += 1
        if self.calls == 2:  # the first is the claim, which marks the job running
            self.released.wait(timeout=60)
        return timezone.now()

    def _run(self) -> None:
        try:
            run_queued_jobs(self.clock)
        finally:
            connections.close_all()

    def release(self) -> None:
        self.released.set()


def test_an_upload_shows_progress_then_the_report(browser, live_server, settings, tmp_path):
    settings.IMPORT_WORKER = False  # the test runs the job itself (HeldImport)
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
        expect(tab.locator("#import-job")).to_contain_text("Waiting to start")
        held = HeldImport()
        held.thread.start()
        try:
            expect(tab.locator("#import-progress")).to_be_visible(timeout=30_000)
            tab.screenshot(path=shots_dir(tmp_path) / "import-progress.png")
        finally:
            held.release()
        expect(tab.locator("#import-job dl")).to_contain_text("Members seen", timeout=120_000)
        tab.screenshot(path=shots_dir(tmp_path) / "import-report.png")
        held.thread.join(timeout=30)

        assert tab.evaluate("window.sameDocument") is True  # swapped in place, not reloaded
        expect(tab.locator("#import-job")).to_have_attribute("data-state", "done")
        expect(tab.locator("#import-job dl")).to_contain_text("Messages read6000")
        tab.goto("/settings/import/")
        expect(tab.locator("#recent-imports")).to_contain_text("WhatsApp Chat.txt")
