"""`sync_moltflow`: pulling a MoltFlow account into the store, with this project's own
/api/v2 as the upstream.

The upstream's answers are recorded from the mirror API in process, then the store is
emptied and the recording replayed: the sync must rebuild what the API served, and a second
run must change nothing at all.
"""

import io
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from django.core.cache.backends.locmem import LocMemCache
from django.core.management import call_command
from django.utils import timezone

from leads import client as moltflow_client
from leads import services
from leads.client import MoltflowClient
from leads.models import (
    ActorKind,
    Lead,
    LeadEvent,
    LeadStatusChange,
    MonitoredGroup,
    Session,
    SyncConflict,
    build_search_text,
)
from leads.sources.moltflow import MoltflowSource
from leads.sync import MIRROR_SESSION_NAME, sync_moltflow
from tests.factories import make_api_key, make_group, make_session
from tests.inprocess import BASE_URL, Recorder, wsgi_transport

LEADS = 150  # two pages of 100
STATUSES = ["new", "contacted", "qualified", "converted", "lost"]


def source_over(transport: httpx.BaseTransport, raw_key: str, **options: Any) -> MoltflowSource:
    return MoltflowSource(
        MoltflowClient(
            BASE_URL,
            raw_key,
            http=httpx.Client(transport=transport),
            cache=LocMemCache(f"sync-{uuid.uuid4()}", {}),
            **options,
        )
    )


def seed_upstream() -> list[MonitoredGroup]:
    session = make_session("main-number")
    groups = [
        make_group(session, name="Real Estate IL", keywords=["מחפש", "price"]),
        make_group(session, name="Cars for sale", mode="first_message"),
    ]
    now = timezone.now()
    leads = []
    for n in range(LEADS):
        phone = f"+97252{n:07d}" if n % 10 else None  # every tenth number is hidden
        name = f"Contact {n}" if n % 7 else None
        keyword = "מחפש" if n % 2 else "price"
        leads.append(
            Lead(
                source_group=groups[n % 2],
                contact_jid=f"{phone.lstrip('+')}@c.us" if phone else f"{n}@lid",
                contact_phone=phone,
                contact_name=name,
                lead_status=STATUSES[n % 5],
                lead_score=n % 3,
                message_count=n % 4 + 1,
                matched_keyword=keyword,
                message_preview=f"message {n} " + "x" * (n % 40),
                monitor_mode=groups[n % 2].monitor_mode,
                lead_detected_at=now - timedelta(minutes=n, microseconds=n),
                search_text=build_search_text(name, phone, keyword),
            )
        )
    Lead.objects.bulk_create(leads)
    return groups


def to_milliseconds(row: tuple) -> tuple:
    # The API writes times to the millisecond; the seeded leads have microseconds.
    moment = row[6]
    return (*row[:6], moment.replace(microsecond=moment.microsecond // 1000 * 1000), *row[7:])


def store_snapshot() -> dict[str, Any]:
    return {
        "leads": sorted(
            to_milliseconds(row)
            for row in Lead.objects.values_list(
                "id",
                "source_group_id",
                "contact_phone",
                "contact_name",
                "lead_status",
                "lead_score",
                "lead_detected_at",
                "matched_keyword",
                "message_preview",
                "monitor_mode",
                "search_text",
                "message_count",
            )
        ),
        "updated_at": dict(Lead.objects.values_list("id", "updated_at")),
        "groups": sorted(MonitoredGroup.objects.values_list("id", "name", "updated_at")),
        "sessions": Session.objects.count(),
        "history": LeadStatusChange.objects.count(),
    }


def empty_the_store() -> None:
    Lead.objects.all().delete()
    MonitoredGroup.objects.all().delete()
    Session.objects.all().delete()


@pytest.fixture
def upstream(db: None, settings) -> tuple[Recorder, str, dict[str, Any]]:
    """The mirror API's answers to a full sync, recorded; and the store as it served them.

    The API's rate limit is off: a sync reading every lead whole would otherwise wait out the
    plan's budget for real (waiting is tested on its own below)."""
    settings.MIRROR_RATE_LIMITS = False
    groups = seed_upstream()
    _, raw_key = make_api_key()
    recorder = Recorder(wsgi_transport())
    before = store_snapshot()
    summary = sync_moltflow(source_over(recorder, raw_key))
    # The store synced from its own API: everything is already there, and nothing is touched.
    assert (summary.pages, summary.created, summary.updated, summary.unchanged) == (2, 0, 0, LEADS)
    assert store_snapshot() == before
    served = {
        "leads": store_snapshot()["leads"],
        "groups": {
            g.id: (g.name, g.wa_group_id, g.monitor_mode, g.monitor_keywords) for g in groups
        },
    }
    return recorder, raw_key, served


def test_it_rebuilds_every_lead_from_an_empty_store(upstream: tuple) -> None:
    recorder, raw_key, served = upstream
    empty_the_store()
    summary = sync_moltflow(source_over(recorder.replay(), raw_key))
    assert (summary.pages, summary.created, summary.updated, summary.unchanged) == (2, LEADS, 0, 0)
    assert store_snapshot()["leads"] == served["leads"]  # same ids, same fields
    mirrored = {
        g.id: (g.name, g.wa_group_id, g.monitor_mode, g.monitor_keywords)
        for g in MonitoredGroup.objects.select_related("session")
    }
    assert mirrored == served["groups"]
    assert set(MonitoredGroup.objects.values_list("session__name", flat=True)) == {
        MIRROR_SESSION_NAME
    }
    # Creation is not a status change: no history was invented.
    assert not LeadStatusChange.objects.exists()


def test_a_second_sync_changes_nothing(upstream: tuple) -> None:
    recorder, raw_key, _ = upstream
    empty_the_store()
    sync_moltflow(source_over(recorder.replay(), raw_key))
    before = store_snapshot()
    summary = sync_moltflow(source_over(recorder.replay(), raw_key))
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, LEADS)
    assert store_snapshot() == before


def test_a_status_moved_along_the_pipeline_upstream_follows_through_the_services(
    upstream: tuple,
) -> None:
    recorder, raw_key, _ = upstream
    empty_the_store()
    sync_moltflow(source_over(recorder.replay(), raw_key))
    lead = Lead.objects.filter(lead_status="contacted").order_by("lead_detected_at").first()
    Lead.objects.filter(pk=lead.pk).update(lead_status="new")  # behind: upstream moved it on
    events = LeadEvent.objects.count()

    summary = sync_moltflow(source_over(recorder.replay(), raw_key))

    assert (summary.updated, summary.unchanged, summary.conflicts) == (1, LEADS - 1, [])
    lead.refresh_from_db()
    assert lead.lead_status == "contacted"
    last = LeadStatusChange.objects.get(lead=lead)
    assert (last.from_status, last.to_status, last.actor_kind) == ("new", "contacted", "sync")
    assert LeadEvent.objects.count() == events + 1  # the live screens hear of it


def test_a_lead_out_of_a_final_status_upstream_is_a_conflict_left_as_it_is(
    upstream: tuple,
) -> None:
    recorder, raw_key, _ = upstream
    empty_the_store()
    sync_moltflow(source_over(recorder.replay(), raw_key))
    lead = Lead.objects.filter(lead_status="new").order_by("lead_detected_at").first()
    # Someone converted it here; upstream it is still new (converted -> new is no pipeline step).
    services.lead_change_status(lead.id, "converted", services.Actor(kind=ActorKind.USER))

    summary = sync_moltflow(source_over(recorder.replay(), raw_key))

    assert (summary.updated, summary.unchanged) == (0, LEADS)
    assert [(c.lead_id, c.local, c.upstream) for c in summary.conflicts] == [
        (lead.id, "converted", "new")
    ]
    lead.refresh_from_db()
    assert lead.lead_status == "converted"
    assert LeadStatusChange.objects.filter(lead=lead).count() == 1  # only the person's move
    conflict = SyncConflict.objects.get()
    assert (conflict.lead_id, conflict.local_status, conflict.upstream_status) == (
        lead.id,
        "converted",
        "new",
    )


def test_a_forbidden_step_upstream_is_a_conflict_and_is_listed_on_the_activity_page(
    upstream: tuple, client
) -> None:
    recorder, raw_key, _ = upstream
    empty_the_store()
    sync_moltflow(source_over(recorder.replay(), raw_key))
    lead = Lead.objects.filter(lead_status="new").exclude(contact_name=None).first()
    Lead.objects.filter(pk=lead.pk).update(lead_status="qualified")  # qualified -> new: no step
    moltflow_client.install_transport(recorder.replay())
    out = io.StringIO()
    try:
        call_command("sync_moltflow", "--api-url", BASE_URL, "--api-key", raw_key, stdout=out)
    finally:
        moltflow_client.install_transport(None)

    printed = out.getvalue()
    assert "conflicts: 1" in printed
    assert (
        f"conflict: lead {lead.id} ({lead.contact_name}) is qualified here, new on MoltFlow: "
        "qualified cannot move to new; left for a person"
    ) in printed
    client.force_login(User.objects.create_user("vera", password="pw"))
    page = client.get("/activity/").content.decode()
    assert "Sync conflicts: 1 lead left for a person" in page
    assert lead.contact_name in page


def test_a_conflict_ends_when_a_sync_finds_the_lead_agreeing_again(upstream: tuple) -> None:
    recorder, raw_key, _ = upstream
    empty_the_store()
    sync_moltflow(source_over(recorder.replay(), raw_key))
    lead = Lead.objects.filter(lead_status="new").first()
    Lead.objects.filter(pk=lead.pk).update(lead_status="converted")
    sync_moltflow(source_over(recorder.replay(), raw_key))
    assert SyncConflict.objects.count() == 1
    Lead.objects.filter(pk=lead.pk).update(lead_status="new")  # a person settled it

    summary = sync_moltflow(source_over(recorder.replay(), raw_key))

    assert summary.conflicts == []
    assert not SyncConflict.objects.exists()


def test_message_count_follows_upstream_and_skip_details_leaves_it(upstream: tuple) -> None:
    recorder, raw_key, served = upstream
    empty_the_store()
    sync_moltflow(source_over(recorder.replay(), raw_key), details=False)
    # A list row has no message_count: without the details every lead keeps the default.
    assert set(Lead.objects.values_list("message_count", flat=True)) == {1}

    summary = sync_moltflow(source_over(recorder.replay(), raw_key))

    assert summary.updated == LEADS * 3 // 4  # those whose count is not 1
    assert store_snapshot()["leads"] == served["leads"]


def test_fields_changed_here_are_restored_from_upstream(upstream: tuple) -> None:
    recorder, raw_key, served = upstream
    empty_the_store()
    sync_moltflow(source_over(recorder.replay(), raw_key))
    lead = Lead.objects.exclude(contact_name=None).first()
    Lead.objects.filter(pk=lead.pk).update(contact_name="Renamed here", lead_score=99)
    summary = sync_moltflow(source_over(recorder.replay(), raw_key))
    assert summary.updated == 1
    assert store_snapshot()["leads"] == served["leads"]
    assert not LeadStatusChange.objects.exists()


def test_the_command_prints_a_summary(upstream: tuple) -> None:
    recorder, raw_key, _ = upstream
    empty_the_store()
    moltflow_client.install_transport(recorder.replay())
    out = io.StringIO()
    try:
        call_command("sync_moltflow", "--api-url", BASE_URL, "--api-key", raw_key, stdout=out)
    finally:
        moltflow_client.install_transport(None)
    assert f"pages: 2, created: {LEADS}, updated: 0, unchanged: 0" in out.getvalue()
    assert Lead.objects.count() == LEADS


def test_a_key_without_groups_scope_still_syncs(db: None, settings) -> None:
    settings.MIRROR_RATE_LIMITS = False
    group = seed_upstream()[0]
    _, raw_key = make_api_key(["leads:read"])
    recorder = Recorder(wsgi_transport())
    sync_moltflow(source_over(recorder, raw_key))
    empty_the_store()
    summary = sync_moltflow(source_over(recorder.replay(), raw_key))
    assert summary.created == LEADS
    mirrored = MonitoredGroup.objects.get(pk=group.id)
    # No groups list, but each lead's detail names its group's WhatsApp id.
    assert (mirrored.name, mirrored.wa_group_id) == (group.name, group.wa_group_id)
    assert not mirrored.monitor_keywords  # what only the groups list says stays unknown


def test_without_groups_scope_or_details_the_group_gets_a_stand_in_id(db: None, settings) -> None:
    settings.MIRROR_RATE_LIMITS = False
    group = seed_upstream()[0]
    _, raw_key = make_api_key(["leads:read"])
    recorder = Recorder(wsgi_transport())
    sync_moltflow(source_over(recorder, raw_key), details=False)
    empty_the_store()
    sync_moltflow(source_over(recorder.replay(), raw_key), details=False)
    stand_in = MonitoredGroup.objects.get(pk=group.id)
    assert (stand_in.name, stand_in.wa_group_id) == (group.name, f"moltflow-{group.id}@g.us")


def test_it_waits_out_the_rate_limit_and_goes_on(db: None) -> None:
    group_id = str(uuid.uuid4())
    lead = {
        "id": str(uuid.uuid4()),
        "contact_phone": "+15550001111",
        "contact_name": "Dana",
        "lead_status": "contacted",
        "lead_score": 0,
        "lead_detected_at": "2026-11-25T08:00:00Z",
        "source_group": {"id": group_id, "name": "Group"},
        "trigger": {"matched_keyword": "price", "message_preview": "price?", "monitor_mode": "all"},
    }
    # The detail, as MoltFlow documents it: the list's fields and the contract's extra ones.
    detail = {
        **lead,
        "source_group": {**lead["source_group"], "wa_group_id": "120363011@g.us"},
        "message_count": 3,
        "session_id": str(uuid.uuid4()),
        "updated_at": "2026-11-25T09:30:00Z",
    }
    answers = iter(
        [
            httpx.Response(200, json={"items": [], "total": 0}),
            httpx.Response(429, json={"detail": "slow down"}, headers={"Retry-After": "30"}),
            httpx.Response(200, json={"leads": [lead], "total": 1, "limit": 100, "offset": 0}),
            httpx.Response(429, json={"detail": "slow down"}, headers={"Retry-After": "20"}),
            httpx.Response(200, json=detail),
        ]
    )
    now = [1_800_000_000.0]
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    source = source_over(
        httpx.MockTransport(lambda request: next(answers)),
        "mf_x",
        sleep=sleep,
        clock=lambda: now[0],
    )
    summary = sync_moltflow(source, sleep=sleep)
    assert pauses == [30.0, 20.0]
    assert (summary.pages, summary.created) == (1, 1)
    mirrored = Lead.objects.get(pk=lead["id"])
    assert (mirrored.lead_status, mirrored.contact_jid) == ("contacted", "15550001111@c.us")
    assert mirrored.message_count == 3
    # The group's WhatsApp id comes from the detail when the groups list had nothing.
    assert mirrored.source_group.wa_group_id == "120363011@g.us"
