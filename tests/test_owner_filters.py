"""Whose leads: "My leads" (a rep's default view), "Unassigned", and the owner on every list.

Personas: two reps (Rick and Rita) and a manager (Mona).
"""

import html
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from leads import assignments
from leads.models import Lead
from leads.roles import REP
from leads.services import Actor, lead_change_status
from tests.factories import make_group, make_lead
from tests.people import person, signed_in

pytestmark = pytest.mark.django_db

TABLE, BOARD, ACTIVITY = "/leads/", "/leads/board/", "/activity/"


@pytest.fixture
def leads(rick: User, rita: User) -> dict[str, Lead]:
    group = make_group(name="Real Estate IL")
    made = {
        "ricks": make_lead(group, name="Ricks Buyer"),
        "ritas": make_lead(group, name="Ritas Buyer"),
        "nobodys": make_lead(group, name="Nobodys Buyer"),
    }
    assignments.lead_take(made["ricks"].id, rick)
    assignments.lead_take(made["ritas"].id, rita)
    return made


def test_a_rep_opens_the_table_on_their_own_leads(rick: User, leads: dict[str, Lead]) -> None:
    page = signed_in(rick).get(TABLE).content.decode()
    assert "Ricks Buyer" in page
    assert "Ritas Buyer" not in page and "Nobodys Buyer" not in page
    assert '<option value="me" selected>My leads</option>' in page


def test_a_rep_who_owns_nothing_yet_opens_the_table_on_everyones_leads(mona: User) -> None:
    newcomer = person("nina", REP, "Nina")
    make_lead(name="Free Buyer")
    page = signed_in(newcomer).get(TABLE).content.decode()
    assert "Free Buyer" in page
    assert '<option value="" selected>Everyone' in page


def _rows_refresh(client: Client, page: str) -> str:
    """The rows as the page's own refresh (its hidden trigger's URL) reads them."""
    found = re.search(r'<span hidden hx-get="([^"]+)" hx-trigger="lead-status-changed', page)
    assert found is not None
    url = html.unescape(found.group(1))
    headers = {"HX-Request": "true", "HX-Target": "leads-results", "X-Live-Refresh": "1"}
    return client.get(url, headers=headers).content.decode()


def test_a_reps_rows_keep_whose_leads_the_page_showed_when_that_default_changes(
    mona: User,
) -> None:
    newcomer = signed_in(nina := person("nina", REP, "Nina"))
    taken = make_lead(name="Taken Buyer")
    make_lead(name="Free Buyer")
    page = newcomer.get(TABLE).content.decode()
    assert '<option value="" selected>Everyone' in page
    # Nina takes her first lead: her default becomes "My leads", but this page said Everyone's.
    assignments.lead_take(taken.id, nina)
    rows = _rows_refresh(newcomer, page)
    assert "Free Buyer" in rows and "Taken Buyer" in rows

    page = newcomer.get(TABLE).content.decode()  # a new page: "My leads" now
    assert '<option value="me" selected>My leads</option>' in page
    assignments.lead_assign(taken.id, None, nina, expected_owner_id=nina.pk)
    rows = _rows_refresh(newcomer, page)
    assert "Taken Buyer" not in rows and "Free Buyer" not in rows


def test_a_rep_can_choose_everyones_leads(rick: User, leads: dict[str, Lead]) -> None:
    page = signed_in(rick).get(TABLE, {"owner": ""}).content.decode()
    assert all(name in page for name in ("Ricks Buyer", "Ritas Buyer", "Nobodys Buyer"))


def test_a_manager_opens_the_table_on_everyones_leads(mona: User, leads: dict[str, Lead]) -> None:
    page = signed_in(mona).get(TABLE).content.decode()
    assert all(name in page for name in ("Ricks Buyer", "Ritas Buyer", "Nobodys Buyer"))


def test_unassigned_lists_only_the_leads_nobody_owns(mona: User, leads: dict[str, Lead]) -> None:
    page = signed_in(mona).get(TABLE, {"owner": "none"}).content.decode()
    assert "Nobodys Buyer" in page
    assert "Ricks Buyer" not in page and "Ritas Buyer" not in page


def test_my_leads_for_a_manager_are_the_managers_own(mona: User, leads: dict[str, Lead]) -> None:
    assignments.lead_bulk_assign([leads["nobodys"].id], mona, mona)
    page = signed_in(mona).get(TABLE, {"owner": "me"}).content.decode()
    assert "Nobodys Buyer" in page and "Ricks Buyer" not in page


def test_the_table_shows_each_leads_owner_escaped(rick: User, mona: User) -> None:
    rick.first_name = "<b>Rick</b>"
    rick.save()
    lead = make_lead(name="Owned Buyer")
    assignments.lead_take(lead.id, rick)
    make_lead(name="Free Buyer")
    page = signed_in(mona).get(TABLE).content.decode()
    assert "&lt;b&gt;Rick&lt;/b&gt;" in page and "<b>Rick</b>" not in page
    assert 'data-label="Owner"><span class="muted">unassigned</span>' in page


def test_the_table_filters_by_owner_as_an_htmx_region_too(
    mona: User, leads: dict[str, Lead]
) -> None:
    response = signed_in(mona).get(
        TABLE, {"owner": "none"}, headers={"HX-Request": "true", "HX-Target": "leads-results"}
    )
    page = response.content.decode()
    assert response.status_code == 200 and "<html" not in page
    assert "Nobodys Buyer" in page and "Ricks Buyer" not in page


def test_a_nonsense_owner_choice_is_dropped_with_a_reason_not_a_500(
    mona: User, leads: dict[str, Lead]
) -> None:
    response = signed_in(mona).get(TABLE, {"owner": "<script>"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ricks Buyer" in page and "Nobodys Buyer" in page
    assert "Select a valid choice" in page and "<script>" not in page


def test_board_cards_name_their_owner_and_the_board_filters_by_owner(
    rick: User, leads: dict[str, Lead]
) -> None:
    client = signed_in(rick)
    page = client.get(BOARD).content.decode()
    assert 'class="card__owner">Owner: <span dir="auto">Rick</span>' in page
    assert 'Owner: <span dir="auto">Rita</span>' in page
    mine = client.get(BOARD, {"owner": "me"}).content.decode()
    assert "Ricks Buyer" in mine and "Ritas Buyer" not in mine
    unassigned = client.get(BOARD, {"owner": "none"}).content.decode()
    assert "Nobodys Buyer" in unassigned and "Ricks Buyer" not in unassigned


def test_the_board_reads_owners_in_one_query_per_column(
    rick: User, django_assert_max_num_queries
) -> None:
    group = make_group()
    client = signed_in(rick)
    few = [make_lead(group) for _ in range(2)]
    assignments.lead_bulk_assign([lead.id for lead in few], rick, rick)
    with django_assert_max_num_queries(30) as few_queries:
        client.get(BOARD)
    many = [make_lead(group) for _ in range(20)]
    assignments.lead_bulk_assign([lead.id for lead in many], rick, rick)
    with django_assert_max_num_queries(len(few_queries.captured_queries)):
        client.get(BOARD)


def test_the_activity_log_names_each_leads_owner(rick: User, leads: dict[str, Lead]) -> None:
    lead_change_status(
        leads["ricks"].id, "contacted", Actor(kind="user", label="Rick", user_id=rick.pk)
    )
    lead_change_status(
        leads["nobodys"].id, "lost", Actor(kind="user", label="Rick", user_id=rick.pk)
    )
    page = signed_in(rick).get(ACTIVITY).content.decode()
    assert '<td><span dir="auto">Rick</span></td>' in page
    assert '<td><span class="muted">unassigned</span></td>' in page


# --- managers' bulk assignment from the table -----------------------------------------------


def test_a_manager_assigns_the_ticked_leads_in_bulk(
    mona: User, rita: User, leads: dict[str, Lead]
) -> None:
    client = signed_in(mona)
    page = client.get(TABLE).content.decode()
    assert 'name="action" value="assign"' in page and f'<option value="{rita.pk}">Rita' in page
    ticked = [str(leads["ricks"].id), str(leads["nobodys"].id), str(leads["ritas"].id)]
    response = client.post(
        "/leads/bulk/",
        {"action": "assign", "owner": str(rita.pk), "lead": ticked, "query": ""},
        follow=True,
    )
    assert "2 assigned to Rita (1 already were)." in response.content.decode()
    owners = assignments.owners_of(leads[name].id for name in leads)
    assert {owner.label for owner in owners.values()} == {"Rita"} and len(owners) == 3


def test_a_manager_unassigns_in_bulk(mona: User, leads: dict[str, Lead]) -> None:
    ticked = [str(leads["ricks"].id), str(leads["ritas"].id)]
    signed_in(mona).post(
        "/leads/bulk/", {"action": "assign", "owner": "", "lead": ticked, "query": ""}
    )
    assert assignments.owners_of(leads[name].id for name in leads) == {}


def test_bulk_assignment_refuses_someone_who_cannot_own_leads(
    mona: User, leads: dict[str, Lead]
) -> None:
    viewer = person("vera", "viewer", "Vera")
    response = signed_in(mona).post(
        "/leads/bulk/",
        {"action": "assign", "owner": str(viewer.pk), "lead": [str(leads["nobodys"].id)]},
        follow=True,
    )
    assert "active reps and managers only" in response.content.decode()
    assert assignments.owner_of(leads["nobodys"].id) is None


def test_a_rep_cannot_assign_in_bulk(rick: User, rita: User, leads: dict[str, Lead]) -> None:
    client = signed_in(rick)
    assert 'value="assign"' not in client.get(TABLE).content.decode()
    response = client.post(
        "/leads/bulk/",
        {"action": "assign", "owner": str(rick.pk), "lead": [str(leads["nobodys"].id)]},
    )
    assert response.status_code == 403
    assert assignments.owner_of(leads["nobodys"].id) is None
