"""The leads table, its bulk actions and exports, as a plain request and as htmx."""

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads.models import CustomGroup, CustomGroupMember, Lead, Plan
from leads.roles import MANAGER, set_user_role
from tests.factories import make_group, make_lead, set_plan

HTMX = {"HX-Request": "true"}
TABLE = "/leads/"


@pytest.fixture
def staff(db: None) -> User:
    """A manager: bulk actions and exports are theirs."""
    user = User.objects.create_user("alice", password="pw", is_staff=True)
    set_user_role(user, MANAGER)
    return user


@pytest.fixture
def teammate(db: None) -> User:
    return User.objects.create_user("bob", password="pw")


@pytest.fixture
def staff_client(staff: User) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def teammate_client(teammate: User) -> Client:
    client = Client()
    client.force_login(teammate)
    return client


def test_root_redirects_to_the_table(staff_client: Client) -> None:
    response = staff_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == TABLE


def test_it_requires_login(db: None) -> None:
    response = Client().get(TABLE)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_it_shows_the_full_page(staff_client: Client) -> None:
    make_lead(name="Dana Levi", keyword="price", preview="What is the price?")
    response = staff_client.get(TABLE)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" in body
    assert 'href="#main"' in body  # skip link
    assert "Dana Levi" in body
    assert "<mark>price</mark>" in body
    assert "HX-Request" in response["Vary"]


def test_htmx_request_gets_only_the_results_region(staff_client: Client) -> None:
    make_lead(name="Dana Levi")
    response = staff_client.get(TABLE, headers={**HTMX, "HX-Target": "leads-results"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="leads-results"')
    assert "Dana Levi" in body
    assert "HX-Request" in response["Vary"]


def test_htmx_request_for_the_whole_region_includes_the_filters(staff_client: Client) -> None:
    response = staff_client.get(TABLE, headers={**HTMX, "HX-Target": "leads"})
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="leads-filters"' in body


def test_htmx_history_restore_gets_the_whole_page(staff_client: Client) -> None:
    headers = {**HTMX, "HX-Target": "leads", "HX-History-Restore-Request": "true"}
    response = staff_client.get(TABLE, headers=headers)
    assert "<html" in response.content.decode()


def test_it_rejects_post(staff_client: Client) -> None:
    assert staff_client.post(TABLE).status_code == 405


def test_it_filters_by_status_and_search_and_counts_per_status(staff_client: Client) -> None:
    group = make_group()
    make_lead(group, name="Dana Levi", status="new")
    make_lead(group, name="Omar Haddad", status="contacted")
    make_lead(group, name="Dana Cohen", status="contacted")
    response = staff_client.get(TABLE, {"q": "dana", "status": "contacted"})
    body = response.content.decode()
    assert "Dana Cohen" in body
    assert "Dana Levi" not in body
    assert "Omar Haddad" not in body
    counts = {item["status"]: item["count"] for item in response.context["status_counts"]}
    # Counts follow the search but not the status filter, so every status shows its number.
    assert counts["new"] == 1
    assert counts["contacted"] == 1
    assert response.context["matching_count"] == 1


def test_it_filters_by_group_and_date(staff_client: Client) -> None:
    wanted, other = make_group(name="Real Estate IL"), make_group(name="Cars")
    make_lead(wanted, name="In Group")
    make_lead(other, name="Elsewhere")
    response = staff_client.get(TABLE, {"group": str(wanted.id), "detected_from": "2000-01-01"})
    body = response.content.decode()
    assert "In Group" in body
    assert "Elsewhere" not in body
    future = staff_client.get(TABLE, {"detected_from": "2999-01-01"}).content.decode()
    assert "In Group" not in future


def test_an_invalid_filter_value_is_ignored_and_explained(staff_client: Client) -> None:
    make_lead(name="Dana Levi")
    response = staff_client.get(TABLE, {"status": "bogus", "detected_from": "yesterday"})
    assert response.status_code == 200
    assert "Dana Levi" in response.content.decode()
    assert 'role="alert"' in response.content.decode()


def test_it_sorts_by_name(staff_client: Client) -> None:
    group = make_group()
    make_lead(group, name="Zed")
    make_lead(group, name="Amy")
    body = staff_client.get(TABLE, {"sort": "contact_name"}).content.decode()
    assert body.index("Amy") < body.index("Zed")
    body = staff_client.get(TABLE, {"sort": "-contact_name"}).content.decode()
    assert body.index("Zed") < body.index("Amy")


def test_it_sorts_by_group_name(staff_client: Client) -> None:
    make_lead(make_group(name="Zurich flats"), name="Zoe")
    make_lead(make_group(name="amsterdam rooms"), name="Ari")
    response = staff_client.get(TABLE, {"sort": "group_name"})
    body = response.content.decode()
    assert body.index("Ari") < body.index("Zoe")
    assert 'aria-sort="ascending"' in body
    assert "sort=-group_name" in body  # the heading's next click reverses it
    body = staff_client.get(TABLE, {"sort": "-group_name"}).content.decode()
    assert body.index("Zoe") < body.index("Ari")


# Five leads that every sort key puts in a different order. The expected orders are written
# out by hand from the labels a person reads ("by status, pipeline order", ...), not derived.
SORTABLE = [
    # name, status, score, group, detected minutes ago
    ("amy", "qualified", 70, "Delta", 10),
    ("Ben", "lost", 10, "alpha", 40),
    ("cara", "new", 90, "Charlie", 30),
    ("Dov", "converted", 40, "bravo", 20),
    ("eli", "contacted", 55, "Echo", 50),
]
EXPECTED_ORDER = {
    "-detected_at": ["amy", "Dov", "cara", "Ben", "eli"],
    "detected_at": ["eli", "Ben", "cara", "Dov", "amy"],
    "contact_name": ["amy", "Ben", "cara", "Dov", "eli"],  # letters, not upper case first
    "-contact_name": ["eli", "Dov", "cara", "Ben", "amy"],
    "status": ["cara", "eli", "amy", "Dov", "Ben"],  # new, contacted, qualified, converted, lost
    "-status": ["Ben", "Dov", "amy", "eli", "cara"],
    "-score": ["cara", "amy", "eli", "Dov", "Ben"],
    "score": ["Ben", "Dov", "eli", "amy", "cara"],
    "group_name": ["Ben", "Dov", "cara", "amy", "eli"],  # alpha, bravo, Charlie, Delta, Echo
    "-group_name": ["eli", "amy", "cara", "Dov", "Ben"],
}


@pytest.mark.parametrize("sort", sorted(EXPECTED_ORDER))
def test_every_sort_key_puts_the_rows_in_the_order_its_label_promises(
    staff_client: Client, sort: str
) -> None:
    now = timezone.now()
    names_by_id = {}
    for name, status, score, group, minutes_ago in SORTABLE:
        lead = make_lead(
            make_group(name=group),
            name=name,
            status=status,
            detected_at=now - timedelta(minutes=minutes_ago),
        )
        Lead.objects.filter(pk=lead.pk).update(lead_score=score)
        names_by_id[str(lead.id)] = name

    body = staff_client.get(TABLE, {"sort": sort}).content.decode()

    shown = [names_by_id[lead_id] for lead_id in re.findall(r'<tr id="lead-([0-9a-f-]{36})"', body)]
    assert shown == EXPECTED_ORDER[sort]


def test_it_shows_each_leads_message_count(staff_client: Client) -> None:
    make_lead(name="Chatty")
    Lead.objects.update(message_count=7)
    response = staff_client.get(TABLE)
    assert "Messages" in [header.label for header in response.context["headers"]]
    assert 'data-label="Messages">7</td>' in response.content.decode()


def test_on_moltflow_an_unknown_message_count_is_a_dash_and_groups_do_not_sort(
    staff_client: Client, moltflow: None
) -> None:
    make_lead(name="Remote Rina")
    response = staff_client.get(TABLE, {"sort": "group_name"})
    body = response.content.decode()
    assert "Remote Rina" in body
    assert 'data-label="Messages">—</td>' in body
    group_heading = next(h for h in response.context["headers"] if h.name == "group")
    assert group_heading.sort is None  # a plain heading, not a link MoltFlow would refuse
    assert response.context["sort_label"] == "newest first"


def test_on_moltflow_the_not_moved_link_shows_exactly_those_leads(
    staff_client: Client, moltflow: None
) -> None:
    group = make_group()
    wanted = [make_lead(group, name=f"Wanted {n}") for n in range(3)]
    make_lead(group, name="Someone else")
    response = staff_client.get(TABLE, {"ids": ",".join(str(lead.id) for lead in wanted)})
    assert sorted(row.id for row in response.context["rows"]) == sorted(lead.id for lead in wanted)
    assert response.context["matching_count"] == 3
    assert "Someone else" not in response.content.decode()


def test_it_pages(staff_client: Client) -> None:
    group = make_group()
    for n in range(30):
        make_lead(group, name=f"Lead {n:02d}")
    first = staff_client.get(TABLE, {"page_size": 25})
    assert len(first.context["rows"]) == 25
    assert first.context["has_next"]
    second = staff_client.get(TABLE, {"page_size": 25, "page": 2})
    assert len(second.context["rows"]) == 5
    assert not second.context["has_next"]


def test_hostile_names_are_escaped(staff_client: Client) -> None:
    make_lead(
        name="<script>alert(1)</script>",
        keyword="<b>",
        preview="price <img src=x onerror=alert(1)> <b>",
    )
    body = staff_client.get(TABLE).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img src=x" not in body
    assert "<mark>&lt;b&gt;</mark>" in body


@pytest.mark.parametrize("rows", [5, 500])
def test_query_budget_is_the_same_at_5_and_500_rows(
    staff_client: Client, django_assert_max_num_queries, rows: int
) -> None:
    group = make_group()
    Lead.objects.bulk_create(
        [
            Lead(
                source_group=group,
                contact_jid=f"{n}@c.us",
                contact_phone=f"+1555{n:07d}",
                contact_name=f"Lead {n}",
                search_text=f"lead {n}",
            )
            for n in range(rows)
        ]
    )
    # 12 for the table itself (with the rows' owners and follow-ups, one query each), +1 the
    # role check (auth groups), +1 the live-update token, +1 who a manager may bulk-assign to,
    # +1 the leads whose notes hold the search word.
    with django_assert_max_num_queries(16):
        response = staff_client.get(TABLE, {"page_size": 100, "q": "lead"})
    assert response.status_code == 200


# --- bulk actions ---------------------------------------------------------------------


def test_bulk_change_reports_what_was_not_moved(staff_client: Client) -> None:
    group = make_group()
    movable = [make_lead(group, status="new") for _ in range(3)]
    final = make_lead(group, status="converted")
    response = staff_client.post(
        reverse("leads:bulk"),
        {
            "action": "status",
            "status": "contacted",
            "lead": [str(lead.id) for lead in [*movable, final]],
            "query": "q=&status=",
        },
        follow=True,
    )
    body = response.content.decode()
    assert "3 moved to contacted; 1 not moved: converted is final" in body
    assert f"ids={final.id}" in body
    assert Lead.objects.filter(lead_status="contacted").count() == 3
    # The link shows exactly the lead that was not moved.
    not_moved = staff_client.get(TABLE, {"ids": str(final.id)})
    assert [row.id for row in not_moved.context["rows"]] == [final.id]
    assert not_moved.context["matching_count"] == 1


@pytest.mark.parametrize("picked", [1, 100])
def test_the_not_moved_link_costs_the_same_queries_for_1_or_100_leads(
    staff_client: Client, django_assert_max_num_queries, picked: int
) -> None:
    group = make_group()
    leads = Lead.objects.bulk_create(
        [
            Lead(source_group=group, contact_jid=f"{n}@c.us", contact_name=f"Lead {n}")
            for n in range(picked + 5)
        ]
    )
    wanted = [lead.id for lead in leads[:picked]]
    with django_assert_max_num_queries(15):  # as above
        response = staff_client.get(TABLE, {"ids": ",".join(map(str, wanted)), "page_size": 100})
    assert sorted(row.id for row in response.context["rows"]) == sorted(wanted)


def test_the_not_moved_link_pages_like_any_other_filter(staff_client: Client) -> None:
    group = make_group()
    picked = [make_lead(group, name=f"Picked {n}").id for n in range(30)]
    make_lead(group, name="Not picked")
    query = {"ids": ",".join(map(str, picked)), "page_size": 25}
    first = staff_client.get(TABLE, query)
    assert len(first.context["rows"]) == 25 and first.context["has_next"]
    assert "Showing 30 leads picked by id" in first.content.decode()
    second = staff_client.get(TABLE, {**query, "page": 2})
    shown = [row.id for row in [*first.context["rows"], *second.context["rows"]]]
    assert sorted(shown) == sorted(picked)


def test_bulk_select_across_moves_every_matching_lead(staff_client: Client) -> None:
    group = make_group()
    for n in range(7):
        make_lead(group, name=f"Match {n}", status="new")
    make_lead(group, name="Other", keyword="x", status="new")
    response = staff_client.post(
        reverse("leads:bulk"),
        {"action": "status", "status": "lost", "select_across": "1", "query": "q=match"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/leads/?q=match"
    assert Lead.objects.filter(lead_status="lost").count() == 7
    assert Lead.objects.get(contact_name="Other").lead_status == "new"


def test_bulk_over_500_asks_for_confirmation_first(staff_client: Client) -> None:
    group = make_group()
    Lead.objects.bulk_create(
        [Lead(source_group=group, contact_jid=f"{n}@c.us", search_text="x") for n in range(501)]
    )
    data = {"action": "status", "status": "lost", "select_across": "1", "query": ""}
    response = staff_client.post(reverse("leads:bulk"), data)
    assert response.status_code == 200
    assert "Change 501 leads?" in response.content.decode()
    assert Lead.objects.filter(lead_status="lost").count() == 0
    confirmed = staff_client.post(reverse("leads:bulk"), {**data, "confirmed": "1"})
    assert confirmed.status_code == 302
    assert Lead.objects.filter(lead_status="lost").count() == 501


def test_twelve_hundred_ticked_leads_go_in_one_field_and_confirm_without_hidden_rows(
    staff_client: Client,
) -> None:
    group = make_group()
    leads = Lead.objects.bulk_create(
        [Lead(source_group=group, contact_jid=f"{n}@c.us") for n in range(1200)]
    )
    ids = ",".join(str(lead.id) for lead in leads)
    data = {"action": "status", "status": "contacted", "ids": ids, "query": "status=new"}

    asked = staff_client.post(reverse("leads:bulk"), data)
    page = asked.content.decode()
    confirmed = staff_client.post(reverse("leads:bulk"), {**data, "confirmed": "1"})

    assert asked.status_code == 200 and "Change 1200 leads?" in page
    assert page.count('type="hidden"') < 10  # the ids ride in one field, not 1,200
    assert confirmed.status_code == 302
    assert Lead.objects.filter(lead_status="contacted").count() == 1200


def test_select_all_matching_confirms_with_the_filter_not_the_ids(staff_client: Client) -> None:
    group = make_group()
    Lead.objects.bulk_create(
        [Lead(source_group=group, contact_jid=f"{n}@c.us", search_text="x") for n in range(600)]
    )
    data = {"action": "status", "status": "lost", "select_across": "1", "query": "q=x"}

    page = staff_client.post(reverse("leads:bulk"), data).content.decode()

    assert "Change 600 leads?" in page
    assert 'name="ids"' not in page and 'name="query" value="q=x"' in page
    assert 'name="select_across" value="1"' in page


def test_bulk_add_to_a_new_custom_group(staff_client: Client) -> None:
    leads = [make_lead(), make_lead(), make_lead(phone="")]
    response = staff_client.post(
        reverse("leads:bulk"),
        {
            "action": "add_to_group",
            "new_group_name": "Hot buyers",
            "lead": [str(lead.id) for lead in leads],
        },
        follow=True,
    )
    group = CustomGroup.objects.get(name="Hot buyers")
    assert CustomGroupMember.objects.filter(group=group).count() == 2
    link = reverse("leads:custom-group", kwargs={"custom_group_id": group.id})
    assert f'2 added to <a href="{link}">Hot buyers</a>; 1 skipped' in response.content.decode()


def test_bulk_add_to_an_existing_custom_group_offered_on_the_table(staff_client: Client) -> None:
    already, fresh, no_phone = make_lead(), make_lead(name="Ori"), make_lead(phone="")
    group = CustomGroup.objects.create(name="Hot buyers")
    CustomGroupMember.objects.create(group=group, phone=already.contact_phone, name="Dana")
    page = staff_client.get(TABLE).content.decode()
    assert f'<option value="{group.id}">Hot buyers (1)</option>' in page

    response = staff_client.post(
        reverse("leads:bulk"),
        {
            "action": "add_to_group",
            "custom_group": str(group.id),
            "lead": [str(lead.id) for lead in (already, fresh, no_phone)],
        },
        follow=True,
    )

    link = reverse("leads:custom-group", kwargs={"custom_group_id": group.id})
    assert f'1 added to <a href="{link}">Hot buyers</a>; 2 skipped' in response.content.decode()
    assert sorted(
        CustomGroupMember.objects.filter(group=group).values_list("phone", flat=True)
    ) == (sorted([already.contact_phone, fresh.contact_phone]))
    assert CustomGroup.objects.count() == 1  # added to the chosen group, not a new one


def test_bulk_is_forbidden_on_the_free_plan(staff_client: Client) -> None:
    set_plan(Plan.FREE)
    lead = make_lead()
    page = staff_client.get(TABLE).content.decode()
    assert "Bulk actions unavailable" in page
    assert "Pro plan" in page
    response = staff_client.post(
        reverse("leads:bulk"), {"action": "status", "status": "lost", "lead": [str(lead.id)]}
    )
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).lead_status == "new"


def test_bulk_is_for_staff_only(teammate_client: Client) -> None:
    lead = make_lead()
    # A viewer is not offered what their role cannot do: no ticks, no bulk controls.
    page = teammate_client.get(TABLE).content.decode()
    assert 'name="lead"' not in page
    assert 'name="action"' not in page
    response = teammate_client.post(
        reverse("leads:bulk"), {"action": "status", "status": "lost", "lead": [str(lead.id)]}
    )
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).lead_status == "new"


def test_bulk_rejects_get(staff_client: Client) -> None:
    assert staff_client.get(reverse("leads:bulk")).status_code == 405


def test_bulk_needs_a_csrf_token(staff: User) -> None:
    lead = make_lead()
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    response = client.post(
        reverse("leads:bulk"), {"action": "status", "status": "lost", "lead": [str(lead.id)]}
    )
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).lead_status == "new"


# --- exports --------------------------------------------------------------------------


def test_csv_export_matches_the_filters_with_bom_and_neutralised_cells(
    staff_client: Client,
) -> None:
    group = make_group()
    make_lead(group, name='=HYPERLINK("x")', keyword="price")
    make_lead(group, name="דנה לוי", keyword="price")
    make_lead(group, name="Not me", keyword="other")
    response = staff_client.get(reverse("leads:export", args=["csv"]), {"q": "price"})
    assert response.status_code == 200
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    names = {row[2] for row in rows[1:]}
    assert names == {'\'=HYPERLINK("x")', "דנה לוי"}
    assert "X-Export-Truncated" not in response


def test_json_export(staff_client: Client) -> None:
    make_lead(name="Dana Levi")
    response = staff_client.get(reverse("leads:export", args=["json"]))
    payload = json.loads(b"".join(response.streaming_content))
    assert [lead["contact_name"] for lead in payload] == ["Dana Levi"]


def test_export_is_forbidden_on_the_starter_plan(staff_client: Client) -> None:
    set_plan(Plan.STARTER)
    response = staff_client.get(reverse("leads:export", args=["csv"]))
    assert response.status_code == 403
    assert "Pro plan" in response.content.decode()


def test_export_is_for_staff_only(teammate_client: Client) -> None:
    assert teammate_client.get(reverse("leads:export", args=["csv"])).status_code == 403


def test_export_of_an_unknown_format_is_404(staff_client: Client) -> None:
    assert staff_client.get("/leads/export/xlsx/").status_code == 404


def test_export_rejects_post(staff_client: Client) -> None:
    assert staff_client.post(reverse("leads:export", args=["csv"])).status_code == 405
