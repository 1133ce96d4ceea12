"""Issue 15, item 12: axe-core finds no serious or critical violation on any page.

axe-core is the npm package pinned in tests/browser/package.json (`npm ci` there; `bash dev.sh
test` does it when node_modules is missing), read from disk and injected into each page by
Playwright: no CDN. Every page is checked on a phone (390×844) and a laptop (1440×900).
"""

import json
import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from leads.models import CustomGroup, WallLink
from leads.roles import MANAGER
from leads.services import Actor, lead_bulk_change_status
from tests.browser.conftest import HERE, open_tab
from tests.factories import make_group, make_lead, make_set_aside
from tests.people import person

pytestmark = pytest.mark.django_db(transaction=True)

AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1440, "height": 900}}


def axe_problems(page: Page) -> list[str]:
    """Every serious or critical axe-core violation on the page as it is now, one line each."""
    # Evaluated through the DevTools protocol: the page's strict CSP refuses a <script> tag.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text() + "\n;undefined")
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{rule['id']} ({rule['impact']}): {rule['help']} at "
        + json.dumps([node["target"] for node in rule["nodes"]][:5])
        + " "
        + rule["nodes"][0]["failureSummary"].replace("\n", " ")
        for rule in results["violations"]
        if rule["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def axe() -> Callable[[Page], list[str]]:
    if not AXE.exists():
        pytest.skip(f"no {AXE}: run `npm ci` in tests/browser (bash dev.sh test does)")
    return axe_problems


@pytest.fixture
def team() -> dict[str, object]:
    """A store with something on every page: leads in every status, a bulk change in the
    activity, a second look, a wall."""
    group = make_group(name="Real Estate IL")
    leads = [
        make_lead(group, name=f"Lead {status}", status=status)
        for status in ("new", "contacted", "qualified", "converted", "lost")
    ]
    lead_bulk_change_status([lead.id for lead in leads[:2]], "lost", Actor.system("test"))
    make_set_aside()
    _, token = WallLink.issue("Sales floor")
    buyers = CustomGroup.objects.create(name="Hot buyers")
    buyers.members.create(phone=leads[0].contact_phone, name="Lead new")
    return {"lead": leads[0], "token": token, "group": buyers}


PAGES = {
    "table": "/leads/",
    "board": "/leads/board/",
    "detail": "/leads/{lead}/",
    "message": "/leads/{lead}/message/",
    "activity": "/activity/",
    "second-look": "/leads/second-look/",
    "groups": "/settings/groups/",
    "import": "/settings/import/",
    "users": "/settings/users/",
    "api-keys": "/settings/api-keys/",
    "wall-links": "/settings/wall/",
    "templates": "/settings/templates/",
    "auto-assign": "/settings/auto-assign/",
    "custom-groups": "/custom-groups/",
    "custom-group": "/custom-groups/{group}/",
    "password": "/account/password/",
}


def manager_tab(browser: Browser, base_url: str, viewport: dict) -> Iterator[Page]:
    for tab in open_tab(browser, base_url, person("mona", MANAGER, "Mona"), viewport=viewport):
        tab.set_default_navigation_timeout(20_000)  # a whole page on a busy shared machine
        yield tab


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("name", PAGES)
def test_the_page_has_no_serious_accessibility_violation(
    browser: Browser, live_server, team, axe, name: str, viewport: str
) -> None:
    for tab in manager_tab(browser, live_server.url, VIEWPORTS[viewport]):
        tab.goto(PAGES[name].format(lead=team["lead"].id, group=team["group"].id))
        # What opens on demand is checked too: a card's moves, a bulk change's leads.
        tab.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
        assert not (problems := axe(tab)), "\n".join(problems)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_table_with_the_panel_open_has_no_serious_violation(
    browser: Browser, live_server, team, axe, viewport: str
) -> None:
    for tab in manager_tab(browser, live_server.url, VIEWPORTS[viewport]):
        tab.goto("/leads/")
        tab.locator(f"#lead-{team['lead'].id} a.lead-link").click()
        expect(tab.locator("#lead-panel h2")).to_be_focused()
        assert not (problems := axe(tab)), "\n".join(problems)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_wall_and_the_sign_in_page_have_no_serious_violation(
    browser: Browser, live_server, team, axe, viewport: str
) -> None:
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS[viewport])
    tab = context.new_page()
    try:
        tab.goto(f"/wall/{team['token']}/")
        expect(tab.locator("body")).to_contain_text("Real Estate IL")
        assert not (problems := axe(tab)), "\n".join(problems)
        tab.goto("/login/")
        assert not (problems := axe(tab)), "\n".join(problems)
    finally:
        context.close()


def test_every_page_in_the_navigation_is_checked(client) -> None:
    """A page added to the navigation must be added to PAGES too."""
    client.force_login(person("mona", MANAGER, "Mona"))
    html = client.get("/leads/").content.decode()
    linked = set(
        re.findall(r'href="(/(?:leads|settings|activity|custom-groups|account)[^"?#]*)"', html)
    )
    checked = {path for path in PAGES.values() if "{" not in path}
    assert linked - checked - {"/leads/export/csv/"} == set(), linked - checked
