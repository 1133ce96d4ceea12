"""Each lead's copy of its group's name (the group sort's index key) follows every write path.

PostgreSQL keeps the copy; SQLite sorts by the joined group (see leads.group_sort_sql).
"""

import uuid

import pytest
from django.db import connection

from leads.bulk_rows import insert_rows
from leads.models import Lead, MonitoredGroup
from leads.sources.local import LocalSource
from leads.sources.records import LeadQuery
from tests.factories import make_group, make_lead

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite keeps no copy: it joins the group"
)


def sort_names(*leads: Lead) -> list[str]:
    by_id = dict(Lead.objects.values_list("id", "group_sort_name"))
    return [by_id[lead.id] for lead in leads]


@postgres_only
def test_a_lead_takes_its_groups_lower_cased_name_however_it_is_written():
    group = make_group(name="Haifa CARS")
    saved = make_lead(group)  # Model.save()
    [bulk] = Lead.objects.bulk_create([Lead(source_group=group, contact_jid="1@c.us")])
    # seed_demo's way: COPY on PostgreSQL, multi-row INSERTs on SQLite, every column named.
    fields = [f for f in Lead._meta.concrete_fields if f.name != "group_sort_name"]
    copied_id = uuid.uuid4()
    row = {f.name: getattr(saved, f.attname) for f in fields}
    row.update(id=copied_id, contact_jid="2@c.us")
    insert_rows(Lead, list(row), [list(row.values())])
    copied = Lead.objects.get(pk=copied_id)

    assert sort_names(saved, bulk, copied) == ["haifa cars"] * 3


@postgres_only
def test_renaming_a_group_renames_its_leads_copy_and_no_other():
    renamed, other = make_group(name="Old name"), make_group(name="Other")
    mine, theirs = make_lead(renamed), make_lead(other)

    MonitoredGroup.objects.filter(pk=renamed.pk).update(name="New Name")

    assert sort_names(mine, theirs) == ["new name", "other"]


@postgres_only
def test_a_lead_moved_to_another_group_takes_that_groups_name_even_through_a_stale_save():
    lead = make_lead(make_group(name="Before"))
    lead.source_group = make_group(name="After")
    lead.save()  # the instance still holds "" (editable=False, never read back)

    assert sort_names(lead) == ["after"]


def test_the_group_sort_orders_by_name_then_newest_first():
    zurich, amsterdam = make_group(name="Zurich"), make_group(name="amsterdam")
    older_z, newer_z = make_lead(zurich), make_lead(zurich)
    Lead.objects.filter(pk=older_z.pk).update(
        lead_detected_at=newer_z.lead_detected_at.replace(year=2020)
    )
    ams = make_lead(amsterdam)
    MonitoredGroup.objects.filter(pk=amsterdam.pk).update(name="Zzz amsterdam")

    rows = LocalSource().list_leads(LeadQuery(sort="group_name")).rows

    assert [row.id for row in rows] == [newer_z.id, older_z.id, ams.id]
    rows = LocalSource().list_leads(LeadQuery(sort="-group_name")).rows
    assert [row.id for row in rows] == [ams.id, newer_z.id, older_z.id]
