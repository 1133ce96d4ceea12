"""A client's day with nothing but the base URL and a key, as a curl script would do it."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.test import Client

from leads.models import InboundMessage
from tests.factories import make_api_key, make_group, make_lead, make_session

pytestmark = pytest.mark.django_db

BASE = "/api/v2"


def test_list_check_reciprocity_contact_add_to_a_list_and_export_the_converted():
    # What the store holds; the client knows none of these ids.
    session = make_session("sales")
    group = make_group(session, name="Real Estate IL")
    make_group(session, name="Other group")
    make_lead(group, name="Dana Levi", phone="+972521234567")
    make_lead(group, name="Yossi Cohen", phone="+972529876543")
    make_lead(group, name="Old lead", status="converted")
    InboundMessage.objects.create(
        session=session,
        wa_message_id="inbound-1",
        contact_jid="972521234567@c.us",
        contact_phone="+972521234567",
        body="Hi, about the flat",
        received_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
    )
    _, raw_key = make_api_key()
    client = Client(headers={"Authorization": f"Bearer {raw_key}"})

    # 1. Find the group, then its new leads.
    groups = client.get(f"{BASE}/groups").json()["items"]
    [group_id] = [g["id"] for g in groups if g["name"] == "Real Estate IL"]
    page = client.get(f"{BASE}/leads", {"source_group_id": group_id, "status": "new"}).json()
    assert page["total"] == 2
    new_leads = {lead["contact_name"]: lead for lead in page["leads"]}
    assert set(new_leads) == {"Dana Levi", "Yossi Cohen"}

    # 2. Who wrote to us first? The session id comes from the lead's detail.
    reciprocity = {}
    for name, lead in new_leads.items():
        session_id = client.get(f"{BASE}/leads/{lead['id']}").json()["session_id"]
        answer = client.get(f"{BASE}/leads/{lead['id']}/reciprocity", {"session_id": session_id})
        reciprocity[name] = answer.json()["has_messaged_first"]
    assert reciprocity == {"Dana Levi": True, "Yossi Cohen": False}

    # 3. Mark both contacted; Dana then converts.
    for lead in new_leads.values():
        moved = client.patch(
            f"{BASE}/leads/{lead['id']}/status", {"status": "contacted"}, "application/json"
        )
        assert moved.json()["lead_status"] == "contacted"
    converted = client.patch(
        f"{BASE}/leads/{new_leads['Dana Levi']['id']}/status",
        {"status": "converted"},
        "application/json",
    )
    assert converted.status_code == 200

    # 4. Put both on an outreach list.
    custom = client.post(f"{BASE}/custom-groups", {"name": "Follow up"}, "application/json").json()
    added = client.post(
        f"{BASE}/leads/bulk/add-to-group",
        {"lead_ids": [lead["id"] for lead in new_leads.values()], "custom_group_id": custom["id"]},
        "application/json",
    ).json()
    assert added == {"added": 2, "skipped": 0}
    members = client.get(f"{BASE}/custom-groups/{custom['id']}").json()["members"]
    assert {m["phone"] for m in members} == {"+972521234567", "+972529876543"}

    # 5. Export this group's converted leads as CSV.
    export = client.get(
        f"{BASE}/leads/export/csv", {"status": "converted", "source_group_id": group_id}
    )
    text = b"".join(export.streaming_content).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert sorted(row["contact_name"] for row in rows) == ["Dana Levi", "Old lead"]
    assert {row["lead_status"] for row in rows} == {"converted"}
