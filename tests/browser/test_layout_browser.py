"""One layout for every page (issue 15, item 3): menu, signed-in user, Sign out."""

import pytest
from playwright.sync_api import expect

from tests.factories import make_group, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = "/leads/"


# --- item 3: every page shares one layout ------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/leads/",
        "/leads/board/",
        "/activity/",
        "/settings/groups/",
        "/settings/import/",
    ],
)
def test_every_page_has_the_menu_the_user_and_sign_out(browser, live_server, path: str) -> None:
    from django.contrib.auth.models import User

    from leads.roles import MANAGER, set_user_role
    from tests.browser.conftest import open_tab

    maya = User.objects.create_user("maya", password="pw")
    set_user_role(maya, MANAGER)
    make_lead(make_group(name="Real Estate IL"))
    for tab in open_tab(browser, live_server.url, maya):
        tab.goto(path)
        nav = tab.get_by_role("navigation", name="Main")
        for name in ("Leads", "Board", "Activity", "Groups", "Import"):
            expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
        expect(nav.locator('[aria-current="page"]')).to_have_count(1)
        expect(tab.locator(".whoami")).to_contain_text("maya")
        expect(tab.get_by_role("button", name="Sign out")).to_be_visible()
