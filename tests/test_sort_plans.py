"""Every sort the table offers that an index serves is read in order, never sorted whole.

At 1,000,000 leads a sort the database must do itself costs seconds (every lead sorted for
one page); one served by an index costs a page's worth of entries. With sorting made
prohibitively expensive for the planner, a plan that still sorts has no index to use.
The group sorts read the lead's own copy of its group's name (`group_sort_name`).
"""

import pytest
from django.db import connection
from django.utils import timezone

from leads.models import Lead, build_search_text
from leads.queries import leads_matching
from leads.sources.local import _ORDERINGS
from tests.factories import make_group

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]
INDEX_SERVED = [
    "-detected_at",
    "detected_at",
    "contact_name",
    "-contact_name",
    "status",
    "-status",
    "-score",
    "score",
    "group_name",
    "-group_name",
]


@pytest.mark.parametrize("sort", INDEX_SERVED)
@pytest.mark.parametrize("status", [None, "new"])
def test_a_page_in_this_order_is_read_from_an_index(sort: str, status: str | None) -> None:
    if status and sort not in ("-detected_at", "detected_at", "contact_name"):
        pytest.skip("no status-first index in this order (the status tab may sort its matches)")
    page = leads_matching(status=status).order_by(*_ORDERINGS[sort])[:51]

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = page.explain()

    # An Incremental Sort only orders ties of an index's order (the id tie-break): fine.
    nodes = [line.strip().removeprefix("->").strip() for line in plan.splitlines()]
    assert not [node for node in nodes if node.startswith("Sort  (")], plan


def test_no_index_on_leads_is_the_leading_part_of_another() -> None:
    # Each index is one more write for every lead a bulk move changes (the status is indexed,
    # so no such update is HOT): one that another index starts with only costs.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, indisunique, "
            "array(SELECT pg_get_indexdef(indexrelid, k, true) "
            "FROM generate_series(1, indnkeyatts) AS k) "
            "FROM pg_index WHERE indrelid = 'leads_lead'::regclass AND indpred IS NULL "
            "AND (SELECT amname FROM pg_am JOIN pg_class ON relam = pg_am.oid "
            "WHERE pg_class.oid = indexrelid) = 'btree'"
        )
        rows = cursor.fetchall()
    indexes = {name: columns for name, _, columns in rows}
    unique = {name for name, is_unique, _ in rows if is_unique}  # they constrain: never spare

    redundant = {
        name: other
        for name, columns in indexes.items()
        if name not in unique
        for other, longer in indexes.items()
        if name != other and len(columns) < len(longer) and longer[: len(columns)] == columns
    }
    assert redundant == {}, redundant


def test_a_search_among_new_leads_reads_the_new_leads_own_word_index() -> None:
    # The table's busiest view. Through the whole store's word index it would read every
    # lead's match of the word (156,600 of a million for "price") to keep the new ones.
    # The store's shape at scale: most leads moved on, most of them holding the word.
    group = make_group()
    now = timezone.now()
    Lead.objects.bulk_create(
        Lead(
            source_group=group,
            contact_jid=f"{index}@lid",
            contact_name=f"Lead {index}",
            lead_status="new" if index % 20 == 0 else "contacted",
            lead_detected_at=now,
            search_text=build_search_text(f"Lead {index}", "", "price" if index % 100 else "hello"),
        )
        for index in range(20_000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
    plans = {
        word: leads_matching(status="new", search=word).order_by().values("pk")[:1001].explain()
        for word in ("price", "hello")
    }

    for plan in plans.values():
        assert "lead_search_trgm" not in plan.replace("lead_new_search_trgm", ""), plan
    # A word few new leads hold is found through the new leads' own word index.
    assert "lead_new_search_trgm" in plans["hello"], plans["hello"]
