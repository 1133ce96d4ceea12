"""Custom group pages (issue 15, item 9): see, rename, remove members, delete, export."""

import csv
import io
from collections.abc import Iterator

import httpx
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads import client as moltflow_client
from leads.models import CustomGroup, CustomGroupMember, Lead, Plan
from leads.roles import MANAGER, VIEWER
from tests.factories import make_lead, set_plan
from tests.people import person, signed_in

LIST = "/custom-groups/"


def page_of(group: CustomGroup, action: str = "") -> str:
    base = reverse("leads:custom-group", kwargs={"custom_group_id": group.id})
    return f"{base}{action}/" if action else base


@pytest.fixture
def manager(db: None) -> Client:
    return signed_in(person("mona", MANAGER))


@pytest.fixture
def viewer(db: None) -> Client:
    return signed_in(person("vera", VIEWER))


@pytest.fixture
def buyers(db: None) -> CustomGroup:
    """ "Hot buyers": Dana (two leads), and Eli whose number has no lead."""
    group = CustomGroup.objects.create(name="Hot buyers")
    dana = make_lead(name="Dana Levi", phone="+4915112345678", status="contacted")
    make_lead(name="Dana L.", phone="+4915112345678")
    CustomGroupMember.objects.create(group=group, phone=dana.contact_phone, name="Dana")
    CustomGroupMember.objects.create(group=group, phone="+447911123456", name="Eli")
    return group


def test_everyone_signed_in_sees_the_list_with_member_counts_from_the_navigation(
    viewer: Client, buyers: CustomGroup
) -> None:
    CustomGroup.objects.create(name="Empty list")
    page = viewer.get(reverse("leads:table")).text
    assert f'href="{LIST}"' in page

    body = viewer.get(LIST).text

    assert f'href="{page_of(buyers)}" dir="auto">Hot buyers</a></td>\n        <td>2</td>' in body
    assert "Empty list" in body
    assert "New custom group" not in body  # creating is a manager's


def test_signed_out_people_are_sent_to_sign_in(db: None, buyers: CustomGroup) -> None:
    assert Client().get(page_of(buyers)).status_code == 302


def test_a_groups_page_lists_members_with_their_leads_phones_and_statuses(
    viewer: Client, buyers: CustomGroup
) -> None:
    dana_leads = Lead.objects.filter(contact_phone="+4915112345678")

    body = viewer.get(page_of(buyers)).text

    assert "+49 1511 2345678" in body and "+44 7911 123456" in body
    for lead in dana_leads:
        assert f'href="{reverse("leads:detail", kwargs={"lead_id": lead.id})}"' in body
    assert '<span class="badge badge--contacted">Contacted</span>' in body
    assert "No lead with this number" in body  # Eli
    # Changes and exports are a manager's (`tests/test_roles.py` checks the server refuses).
    assert "Remove" not in body and "Rename" not in body and "Export CSV" not in body


def test_names_people_wrote_are_escaped(manager: Client, db: None) -> None:
    group = CustomGroup.objects.create(name="<script>alert(1)</script>")
    CustomGroupMember.objects.create(group=group, phone="+15550100", name="<b>bold</b>")

    for url in (LIST, page_of(group), page_of(group, "delete")):
        body = manager.get(url).text
        assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body
    assert "&lt;b&gt;bold&lt;/b&gt;" in manager.get(page_of(group)).text


def test_an_unknown_group_is_a_404_everywhere(manager: Client, db: None) -> None:
    missing = CustomGroup(name="gone")  # never saved: its id is unknown
    assert manager.get(page_of(missing)).status_code == 404
    assert manager.get(page_of(missing, "export")).status_code == 404
    assert manager.get(page_of(missing, "delete")).status_code == 404
    assert manager.post(page_of(missing, "delete")).status_code == 404
    assert manager.post(page_of(missing, "rename"), {"name": "x"}).status_code == 404
    assert manager.post(page_of(missing, "remove-member"), {"phone": "+1"}).status_code == 404


def test_members_are_paged(manager: Client, db: None) -> None:
    group = CustomGroup.objects.create(name="Many")
    CustomGroupMember.objects.bulk_create(
        CustomGroupMember(group=group, phone=f"+1555{n:07d}", added_at=timezone.now())
        for n in range(55)
    )
    first = manager.get(page_of(group))
    second = manager.get(page_of(group), {"page": 2})
    assert len(first.context["rows"]) == 50 and len(second.context["rows"]) == 5
    assert "Page 1 of 2" in first.text


def test_the_group_page_costs_the_same_queries_for_a_few_or_many_members(
    manager: Client, db: None, django_assert_max_num_queries
) -> None:
    group = CustomGroup.objects.create(name="Busy")
    for n in range(40):
        lead = make_lead(phone=f"+1555{n:07d}")
        CustomGroupMember.objects.create(group=group, phone=lead.contact_phone)
    with django_assert_max_num_queries(12):
        assert manager.get(page_of(group)).status_code == 200


# --- rename ---------------------------------------------------------------------------------


def test_a_manager_renames_a_group(manager: Client, buyers: CustomGroup) -> None:
    response = manager.post(page_of(buyers, "rename"), {"name": "  Warm buyers "}, follow=True)
    buyers.refresh_from_db()
    assert buyers.name == "Warm buyers"
    assert "Renamed to Warm buyers." in response.text


@pytest.mark.parametrize("name", ["hot BUYERS", "Ｈｏｔ buyers"])
def test_a_rename_to_another_groups_name_is_refused(
    manager: Client, buyers: CustomGroup, name: str
) -> None:
    other = CustomGroup.objects.create(name="Cold")
    response = manager.post(page_of(other, "rename"), {"name": name}, follow=True)
    other.refresh_from_db()
    assert other.name == "Cold"
    assert "A custom group named “Hot buyers” already exists" in response.text


def test_renaming_to_its_own_name_in_other_letters_is_allowed(
    manager: Client, buyers: CustomGroup
) -> None:
    manager.post(page_of(buyers, "rename"), {"name": "HOT buyers"})
    buyers.refresh_from_db()
    assert buyers.name == "HOT buyers"


@pytest.mark.parametrize("name", ["", "   ", "\x00"])
def test_an_empty_name_is_refused(manager: Client, buyers: CustomGroup, name: str) -> None:
    response = manager.post(page_of(buyers, "rename"), {"name": name}, follow=True)
    buyers.refresh_from_db()
    assert buyers.name == "Hot buyers"
    assert "message--error" in response.text  # "required", or "Null characters are not allowed"


# --- remove a member ------------------------------------------------------------------------


def test_a_manager_removes_a_member_and_the_leads_stay(
    manager: Client, buyers: CustomGroup
) -> None:
    response = manager.post(
        page_of(buyers, "remove-member"), {"phone": "+4915112345678", "page": "1"}, follow=True
    )
    assert list(buyers.members.values_list("phone", flat=True)) == ["+447911123456"]
    assert Lead.objects.filter(contact_phone="+4915112345678").count() == 2
    assert "Removed +49 1511 2345678 from Hot buyers" in response.text
    assert response.redirect_chain[-1][0] == page_of(buyers) + "?page=1"


def test_removing_a_number_not_in_the_group_says_so(manager: Client, buyers: CustomGroup) -> None:
    response = manager.post(page_of(buyers, "remove-member"), {"phone": "+1999"}, follow=True)
    assert buyers.members.count() == 2
    assert "That number is not in Hot buyers (any more)." in response.text


# --- delete ---------------------------------------------------------------------------------


def test_delete_asks_first_then_deletes_the_list_but_not_the_leads(
    manager: Client, buyers: CustomGroup
) -> None:
    confirm = manager.get(page_of(buyers, "delete")).text
    assert 'Delete <span dir="auto">Hot buyers</span>?' in confirm
    assert "2 members goes. Their leads stay" in confirm
    assert CustomGroup.objects.filter(pk=buyers.pk).exists()  # asking deleted nothing

    response = manager.post(page_of(buyers, "delete"), follow=True)

    assert not CustomGroup.objects.filter(pk=buyers.pk).exists()
    assert not CustomGroupMember.objects.exists()
    assert Lead.objects.count() == 2
    assert response.redirect_chain[-1][0] == LIST
    assert "Deleted Hot buyers." in response.text


# --- export ---------------------------------------------------------------------------------


def test_the_export_is_a_neutralised_csv_named_after_the_group(
    manager: Client, buyers: CustomGroup
) -> None:
    CustomGroupMember.objects.create(group=buyers, phone="+15550100", name="=HYPERLINK(1)")

    response = manager.get(page_of(buyers, "export"))

    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="custom-group-hot-buyers-{today}.csv"'
    )
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows == [
        ["contact_phone", "contact_name"],
        ["+4915112345678", "Dana"],
        ["+447911123456", "Eli"],
        ["+15550100", "'=HYPERLINK(1)"],
    ]


# --- who may do what ------------------------------------------------------------------------


def test_every_change_needs_its_csrf_token(buyers: CustomGroup) -> None:
    client = signed_in(person("mona", MANAGER), enforce_csrf_checks=True)
    assert client.post(LIST, {"name": "New"}).status_code == 403
    assert client.post(page_of(buyers, "rename"), {"name": "New"}).status_code == 403
    assert (
        client.post(page_of(buyers, "remove-member"), {"phone": "+447911123456"}).status_code == 403
    )
    assert client.post(page_of(buyers, "delete")).status_code == 403
    assert CustomGroup.objects.get().members.count() == 2
    assert 'name="csrfmiddlewaretoken"' in client.get(page_of(buyers)).text


def test_changes_only_accept_post(manager: Client, buyers: CustomGroup) -> None:
    assert manager.get(page_of(buyers, "rename")).status_code == 405
    assert manager.get(page_of(buyers, "remove-member")).status_code == 405


# --- create ---------------------------------------------------------------------------------


def test_a_manager_creates_a_group_on_the_list_page(manager: Client, db: None) -> None:
    response = manager.post(LIST, {"name": "VIP"}, follow=True)
    group = CustomGroup.objects.get()
    assert response.redirect_chain[-1][0] == page_of(group)
    assert "Created VIP." in response.text


def test_creating_a_duplicate_or_past_the_plans_count_is_refused(
    manager: Client, buyers: CustomGroup
) -> None:
    response = manager.post(LIST, {"name": "HOT BUYERS"})
    assert response.status_code == 400
    assert "A custom group named “Hot buyers” already exists" in response.text

    set_plan(Plan.FREE)  # two custom groups
    assert manager.post(LIST, {"name": "Second"}).status_code == 302
    response = manager.post(LIST, {"name": "Third"})
    assert response.status_code == 400 and "allows 2 custom groups" in response.text
    assert CustomGroup.objects.count() == 2


def test_the_bulk_bar_refuses_a_new_group_named_like_an_existing_one(
    manager: Client, buyers: CustomGroup
) -> None:
    lead = make_lead(phone="+15550199")
    response = manager.post(
        reverse("leads:bulk"),
        {"action": "add_to_group", "new_group_name": "hot buyers", "lead": [str(lead.id)]},
        follow=True,
    )
    assert CustomGroup.objects.count() == 1
    assert not buyers.members.filter(phone="+15550199").exists()
    assert "A custom group named “Hot buyers” already exists" in response.text


# --- MoltFlow -------------------------------------------------------------------------------


def test_on_moltflow_every_page_and_change_goes_through_the_api(
    moltflow: None, buyers: CustomGroup
) -> None:
    client = signed_in(person("mona", MANAGER))

    assert "Hot buyers" in client.get(LIST).text
    body = client.get(page_of(buyers)).text
    assert "+49 1511 2345678" in body and '<span class="badge badge--contacted">' in body
    assert "No lead with this number" in body

    response = client.post(page_of(buyers, "rename"), {"name": "HOT BUYERS!"}, follow=True)
    assert "Renamed to HOT BUYERS!." in response.text
    other = CustomGroup.objects.create(name="Cold")
    response = client.post(page_of(other, "rename"), {"name": "hot buyers!"}, follow=True)
    assert "already exists" in response.text

    client.post(page_of(buyers, "remove-member"), {"phone": "+4915112345678"})
    assert list(buyers.members.values_list("phone", flat=True)) == ["+447911123456"]

    export = client.get(page_of(buyers, "export"))
    assert b"+447911123456,Eli" in b"".join(export.streaming_content)

    client.post(page_of(buyers, "delete"))
    assert list(CustomGroup.objects.values_list("name", flat=True)) == ["Cold"]
    assert client.get(page_of(buyers)).status_code == 404


def test_on_moltflow_a_page_looks_up_at_most_twenty_members_leads(moltflow: None, db: None) -> None:
    group = CustomGroup.objects.create(name="Big")
    CustomGroupMember.objects.bulk_create(
        CustomGroupMember(group=group, phone=f"+1555{n:07d}") for n in range(25)
    )
    response = signed_in(person("vera", VIEWER)).get(page_of(group))
    assert len(response.context["rows"]) == 20
    assert "Page 1 of 2" in response.text


@pytest.fixture
def moltflow_down(settings) -> Iterator[None]:
    settings.LEADS_SOURCE = "moltflow"
    settings.MOLTFLOW_API_URL = "https://moltflow.example/api/v2"
    settings.MOLTFLOW_API_KEY = "mf_test"
    moltflow_client.install_transport(
        httpx.MockTransport(lambda request: httpx.Response(503, json={"detail": "down"}))
    )
    yield
    moltflow_client.install_transport(None)


def test_on_moltflow_an_outage_is_a_clear_page_not_a_500(
    moltflow_down: None, manager: Client, buyers: CustomGroup
) -> None:
    for response in (
        manager.get(LIST),
        manager.get(page_of(buyers)),
        manager.post(page_of(buyers, "rename"), {"name": "New"}),
        manager.post(page_of(buyers, "delete")),
        manager.post(LIST, {"name": "New"}),
    ):
        assert response.status_code == 503
        assert "The lead source is not answering" in response.text
    buyers.refresh_from_db()
    assert buyers.name == "Hot buyers"


# --- the mirror API -------------------------------------------------------------------------


def test_the_api_renames_deletes_and_removes_members(api: Client, buyers: CustomGroup) -> None:
    url = f"/api/v2/custom-groups/{buyers.id}"
    renamed = api.patch(url, {"name": "Warm"}, content_type="application/json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Warm"
    assert renamed.json()["member_count"] == 2

    assert api.delete(f"{url}/members/%2B447911123456").status_code == 204
    assert api.delete(f"{url}/members/%2B447911123456").status_code == 404
    assert api.get(url).json()["members"] == [{"phone": "+4915112345678", "name": "Dana"}]

    assert api.delete(url).status_code == 204
    assert api.delete(url).status_code == 404
    assert api.patch(url, {"name": "x"}, content_type="application/json").status_code == 404


def test_the_api_refuses_duplicate_and_blank_names(api: Client, buyers: CustomGroup) -> None:
    other = CustomGroup.objects.create(name="Cold")
    taken = api.patch(
        f"/api/v2/custom-groups/{other.id}", {"name": "HOT buyers"}, content_type="application/json"
    )
    assert taken.status_code == 400 and "already exists" in taken.json()["detail"]
    created = api.post(
        "/api/v2/custom-groups", {"name": "hot buyers"}, content_type="application/json"
    )
    assert created.status_code == 400
    blank = api.patch(
        f"/api/v2/custom-groups/{other.id}", {"name": "  "}, content_type="application/json"
    )
    assert blank.status_code == 422
    assert CustomGroup.objects.count() == 2
