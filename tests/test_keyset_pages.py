"""Deep pages by keyset: Next and Previous turn at a row, so every lead shows exactly once."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from leads.models import Lead
from leads.sources.local import LocalSource, _order_terms, _past
from leads.sources.records import SORT_KEYS, LeadQuery
from tests.factories import make_group, make_lead
from tests.people import signed_in

pytestmark = pytest.mark.django_db
PAGE = 4


@pytest.fixture
def store() -> list[Lead]:
    """Leads with every kind of tie: same time, same name, no name, same score and status."""
    now = timezone.now()
    berlin, haifa = make_group(name="Berlin"), make_group(name="haifa")
    names = ["Ana", "ana", None, "Bo", None, "Ana", "Cy", "Bo", None, "Dee", "Ana", "Eve", "Bo"]
    statuses = ["new", "contacted", "lost", "new", "qualified", "new", "converted"]
    leads = []
    for index, name in enumerate(names):
        lead = make_lead(
            berlin if index % 3 else haifa,
            name=name,
            status=statuses[index % len(statuses)],
            detected_at=now - timedelta(minutes=index // 3),  # threes share a time
        )
        Lead.objects.filter(pk=lead.pk).update(lead_score=(index % 4) * 10)
        leads.append(lead)
    return leads


def walk(sort: str) -> tuple[list[object], list[list[object]]]:
    """The whole order in one read, and the pages Next gives, PAGE rows each."""
    source = LocalSource()
    whole = [r.id for r in source.list_leads(LeadQuery(sort=sort), limit=100).rows]
    pages: list[list[object]] = []
    after = None
    while True:
        # No offset: only the cursor moves the page on.
        page = source.list_leads(LeadQuery(sort=sort, after=after), limit=PAGE, count_total=False)
        pages.append([r.id for r in page.rows])
        if not page.has_next:
            return whole, pages
        after = page.rows[-1].id


@pytest.mark.parametrize("sort", SORT_KEYS)
def test_next_after_next_shows_every_lead_once_in_the_sorts_order(store, sort):
    whole, pages = walk(sort)

    assert [lead_id for page in pages for lead_id in page] == whole
    assert len(whole) == len(store)


@pytest.mark.parametrize("sort", SORT_KEYS)
def test_previous_from_any_page_gives_the_page_before_it(store, sort):
    _, pages = walk(sort)
    source = LocalSource()
    for before, expected in zip(pages[1:], pages[:-1], strict=True):
        page = source.list_leads(
            LeadQuery(sort=sort, before=before[0]), limit=PAGE, count_total=False
        )
        assert [r.id for r in page.rows] == expected
        assert page.has_next


def test_a_cursor_that_is_gone_falls_back_to_the_pages_offset(store):
    gone = store[0].id
    Lead.objects.filter(pk=gone).delete()
    source = LocalSource()

    by_offset = source.list_leads(LeadQuery(), offset=PAGE, limit=PAGE, count_total=False)
    for query in (LeadQuery(after=gone), LeadQuery(before=gone)):
        page = source.list_leads(query, offset=PAGE, limit=PAGE, count_total=False)
        assert page.rows == by_offset.rows


def test_the_tables_next_and_previous_links_carry_the_rows_they_turn_at(mona, store):
    staff_client = signed_in(mona)
    first = staff_client.get("/leads/", {"page_size": 25})
    rows = first.context["rows"]
    assert len(rows) == 13 and not first.context["has_next"]  # one page: no cursor needed

    leads = [make_lead(make_group()) for _ in range(40)]  # 53 leads: three pages of 25
    first = staff_client.get("/leads/", {"page_size": 25})
    body = first.content.decode()
    [next_url] = re.findall(r'href="(\?[^"]*)" [^>]*rel="next"', body)
    assert f"after={first.context['rows'][-1].id}" in next_url and "page=2" in next_url

    second = staff_client.get("/leads/" + next_url.replace("&amp;", "&"))
    assert second.context["rows"][0].id not in {r.id for r in first.context["rows"]}
    third = staff_client.get(
        "/leads/", {"page_size": 25, "page": 3, "after": str(second.context["rows"][-1].id)}
    )
    assert len(third.context["rows"]) == 3
    [previous_url] = re.findall(r'href="(\?[^"]*)" [^>]*rel="prev"', third.content.decode())
    assert f"before={third.context['rows'][0].id}" in previous_url
    back = staff_client.get("/leads/" + previous_url.replace("&amp;", "&"))
    assert [r.id for r in back.context["rows"]] == [r.id for r in second.context["rows"]]
    assert len(leads) == 40


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans")
def test_a_deep_newest_first_page_starts_its_index_walk_at_the_cursor(store):
    terms = _order_terms(LocalSource()._ordering("-detected_at"))
    deep = _past(Lead.objects.all(), terms, store[6].id)
    assert deep is not None

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = deep.order_by(*terms)[:51].explain()

    assert "Index Cond: (lead_detected_at <=" in plan, plan
