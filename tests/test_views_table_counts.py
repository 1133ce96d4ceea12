"""The table's counts at scale: kept totals when unsearched, honest "1000+" when searched."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from leads.models import Account, Lead, LeadTotal, MonitoredGroup
from leads.roles import MANAGER, set_user_role
from leads.sources.records import COUNT_CAP, TAB_COUNT_CAP
from tests.factories import make_group, make_lead

TABLE = "/leads/"


@pytest.fixture
def manager_client(db: None) -> Client:
    user = User.objects.create_user("carol", password="pw", is_staff=True)
    set_user_role(user, MANAGER)
    client = Client()
    client.force_login(user)
    return client


def many_leads(group: MonitoredGroup, count: int, *, status: str = "new") -> None:
    Lead.objects.bulk_create(
        Lead(
            source_group=group,
            contact_jid=f"{status}{n}@c.us",
            contact_name=f"Lead {n}",
            lead_status=status,
            search_text=f"lead {n}\nprice",
        )
        for n in range(count)
    )


def test_unsearched_counts_are_the_kept_totals(manager_client: Client) -> None:
    group = make_group()
    make_lead(group, status="new")
    LeadTotal.objects.filter(group_id=group.id, status="new").update(total=4321)

    response = manager_client.get(TABLE, {"status": "new"})

    assert response.context["matching_count"] == 4321
    assert response.context["matching_capped"] is False
    assert 'New <span class="count">4321</span>' in response.content.decode()


def test_a_search_past_the_cap_says_1000_plus_and_no_exact_total(manager_client: Client) -> None:
    group = make_group()
    many_leads(group, COUNT_CAP + 5)
    many_leads(group, 3, status="lost")

    response = manager_client.get(TABLE, {"q": "price"})
    body = response.content.decode()

    assert response.context["all_count"] == COUNT_CAP
    assert response.context["all_capped"] is True
    assert f'All <span class="count">{COUNT_CAP}+</span>' in body
    assert f'New <span class="count">{TAB_COUNT_CAP}+</span>' in body
    assert 'Lost <span class="count">3</span>' in body
    assert f"All {COUNT_CAP}+ matching leads" in body
    assert " of " not in body.split('class="pagination"')[1].split("</nav>")[0]
    assert response.context["has_next"] is True


def test_a_search_under_the_cap_is_exact(manager_client: Client) -> None:
    group = make_group()
    many_leads(group, 7)

    response = manager_client.get(TABLE, {"q": "price", "status": "new"})

    assert response.context["matching_count"] == 7
    assert response.context["matching_capped"] is False
    assert "of 7" in response.content.decode()


@pytest.mark.parametrize("rows", [5, 1500])
def test_the_searched_sorted_table_costs_the_same_queries_at_5_and_1500_rows(
    manager_client: Client, django_assert_max_num_queries, rows: int
) -> None:
    many_leads(make_group(), rows)
    Account.current()  # a running deployment has its account row; creating it costs 3 more
    # +1 the page's owners, +1 their follow-ups, +1 who a manager may bulk-assign to, +1 the
    # leads whose notes hold the search word.
    with django_assert_max_num_queries(13):
        response = manager_client.get(
            TABLE, {"status": "new", "q": "price", "sort": "contact_name", "page": 2}
        )
    assert response.status_code == 200


def test_one_match_reads_as_one_lead_and_a_few_as_their_exact_number(
    manager_client: Client,
) -> None:
    group = make_group()
    make_lead(group, keyword="price", name="Dana")
    many_leads(group, TAB_COUNT_CAP + 20, status="lost")

    one = manager_client.get(TABLE, {"q": "dana"}).content.decode()
    assert "Export this lead:" in one
    assert "The 1 matching lead, not only the ticked ones" in one

    # Under the cap every status is exact, the tabs past their own cap included.
    few = manager_client.get(TABLE, {"q": "price"}).content.decode()
    assert f"Export these {TAB_COUNT_CAP + 21} leads:" in few
    assert f'Lost <span class="count">{TAB_COUNT_CAP + 20}</span>' in few


def test_leads_with_nowhere_to_move_get_a_sentence_not_an_empty_status_menu(
    manager_client: Client,
) -> None:
    group = make_group()
    make_lead(group, status="converted", name="Dana")
    make_lead(group, status="new", name="Rina")

    final = manager_client.get(TABLE, {"q": "dana"}).content.decode()
    movable = manager_client.get(TABLE, {"q": "rina"}).content.decode()

    assert "None of these leads can move to another status." in final
    assert 'id="bulk-status"' not in final
    assert 'id="bulk-status"' in movable
    assert "None of these leads" not in movable
