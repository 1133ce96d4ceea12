"""One behaviour, every source: the same assertions against `local` and `moltflow`.

`moltflow` runs three times: against the project's own /api/v2 in process (WSGITransport),
over real HTTP against a live server, and against a MoltFlow written from its documentation
(tests/fake_moltflow.py), so that a misreading shared by the mirror and the client fails.
Whatever a source claims is checked in its store (`Store`): the database that the local
source and the mirror read, or the fake's memory.
"""

import csv
import io
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from leads import assignments
from leads import client as moltflow_client
from leads.client import MoltflowClient
from leads.follow_ups import lead_set_follow_up
from leads.models import (
    Account,
    CustomGroup,
    InboundMessage,
    Lead,
    LeadStatusChange,
    MonitoredGroup,
    Plan,
    Session,
)
from leads.pipeline import InvalidTransition as PipelineInvalidTransition
from leads.pipeline import Status
from leads.services import Actor
from leads.sources.base import LeadSource
from leads.sources.errors import Forbidden, InvalidTransition, NotFound, StaleStatus, Unsupported
from leads.sources.local import LocalSource
from leads.sources.moltflow import IDS_MAX, MoltflowSource
from leads.sources.records import COUNT_CAP, SORT_KEYS, TAB_COUNT_CAP, LeadDetail, LeadQuery
from tests.factories import make_api_key, make_group, make_lead, make_session
from tests.fake_moltflow import API_KEY as FAKE_API_KEY
from tests.fake_moltflow import FakeMoltflow
from tests.inprocess import BASE_URL, wsgi_transport

FAKE_BASE_URL = "https://apiv2.moltflow.test/api/v2"

ACTOR = Actor(kind="user", label="contract test")


class Store:
    """Where the source's leads live, read and changed behind the source's back.

    This project's database for `local` and the mirror; for `moltflow-fake` the documented
    fake's memory (tests/fake_moltflow.py), which `adopt()` fills with the rows a test made
    through the factories, under the same ids. Owners and follow-ups stay in the database for
    every source: they are kept here beside either source's leads.
    """

    def __init__(self, fake: FakeMoltflow | None = None) -> None:
        self.fake = fake

    def adopt(self) -> None:
        """Copy the sessions, groups and leads made in the database that the fake lacks."""
        fake = self.fake
        if fake is None:
            return
        for session in Session.objects.exclude(pk__in=[uuid.UUID(k) for k in fake.sessions]):
            fake.add_session(session.name, session_id=str(session.pk))
        for group in MonitoredGroup.objects.exclude(pk__in=[uuid.UUID(k) for k in fake.groups]):
            fake.add_group(
                str(group.session_id),
                group.name,
                group_id=str(group.pk),
                wa_group_id=group.wa_group_id,
            )
        for lead in Lead.objects.exclude(pk__in=[uuid.UUID(k) for k in fake.leads]):
            fake.add_lead(
                str(lead.source_group_id),
                lead_id=lead.pk,
                name=lead.contact_name,
                phone=lead.contact_phone,
                status=lead.lead_status,
                keyword=lead.matched_keyword,
                preview=lead.message_preview,
                detected_at=lead.lead_detected_at,
                message_count=lead.message_count,
            )

    def status(self, lead: Lead) -> str:
        if self.fake is not None:
            return self.fake.status(lead.pk)
        return Lead.objects.values_list("lead_status", flat=True).get(pk=lead.pk)

    def update(self, lead: Lead, **fields: object) -> None:
        if self.fake is not None:
            self.fake.update(lead.pk, **fields)
        else:
            Lead.objects.filter(pk=lead.pk).update(**fields)

    def history(self, lead: Lead) -> list[str] | None:
        """The statuses the store recorded `lead` moving to; None where it keeps no history."""
        if self.fake is not None:
            return None
        return list(LeadStatusChange.objects.filter(lead=lead).values_list("to_status", flat=True))

    def set_plan(self, plan: Plan) -> None:
        if self.fake is not None:
            self.fake.plan = str(plan)
        else:
            Account.objects.update_or_create(pk=1, defaults={"plan": plan})

    def wrote_first(self, lead: Lead, at: datetime) -> None:
        """The lead's contact writes to the lead's session directly."""
        session_id = lead.source_group.session_id
        if self.fake is not None:
            self.fake.inbound[(str(session_id), lead.contact_phone or "")] = at
            return
        InboundMessage.objects.create(
            session_id=session_id,
            wa_message_id="in-1",
            contact_jid=lead.contact_jid,
            contact_phone=lead.contact_phone,
            body="Hi, about the flat",
            received_at=at,
        )

    def members(self, custom_group_id: uuid.UUID) -> set[str]:
        if self.fake is not None:
            return set(self.fake.custom_groups[str(custom_group_id)]["members"])
        return set(
            CustomGroup.objects.get(pk=custom_group_id).members.values_list("phone", flat=True)
        )


@pytest.fixture(
    params=[
        pytest.param("local", marks=pytest.mark.django_db),
        pytest.param("moltflow-wsgi", marks=pytest.mark.django_db),
        # A live server runs in another thread: only committed rows are visible to it.
        pytest.param("moltflow-http", marks=pytest.mark.django_db(transaction=True)),
        # MoltFlow as its documentation describes it, not as this project mirrors it.
        pytest.param("moltflow-fake", marks=pytest.mark.django_db),
    ]
)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    kind = request.param
    fake = FakeMoltflow(clock=time.time) if kind == "moltflow-fake" else None
    transports = {
        "moltflow-wsgi": wsgi_transport(),
        "moltflow-fake": fake.transport() if fake else None,
    }
    moltflow_client.install_transport(transports.get(kind))
    request.node.source_kind = kind
    try:
        yield Store(fake)
    finally:
        moltflow_client.install_transport(None)


@pytest.fixture
def source(request: pytest.FixtureRequest, store: Store) -> LeadSource:
    kind = request.node.source_kind
    if kind == "local":
        return LocalSource()
    if kind == "moltflow-fake":
        return MoltflowSource(MoltflowClient(FAKE_BASE_URL, FAKE_API_KEY))
    base_url = BASE_URL
    if kind == "moltflow-http":
        base_url = request.getfixturevalue("live_server").url + "/api/v2"
    _, raw_key = make_api_key()
    return MoltflowSource(MoltflowClient(base_url, raw_key))


@dataclass
class World:
    dana: Lead  # new, group A
    omar: Lead  # contacted, group A
    yael: Lead  # qualified, group B
    ivan: Lead  # converted, group B
    lina: Lead  # lost, group A, number hidden

    @property
    def newest_first(self) -> list[uuid.UUID]:
        return [lead.id for lead in (self.dana, self.omar, self.yael, self.ivan, self.lina)]


@pytest.fixture
def world(source: LeadSource, store: Store) -> World:
    session = make_session()
    group_a = make_group(session, name="Real Estate IL")
    group_b = make_group(session, name="Berlin Wohnungen")
    now = timezone.now()
    world = World(
        dana=make_lead(group_a, name="Dana Levi", detected_at=now - timedelta(minutes=1)),
        omar=make_lead(
            group_a,
            status="contacted",
            name="Omar Haddad",
            keyword="looking for",
            phone="+972521234567",
            detected_at=now - timedelta(minutes=2),
        ),
        yael=make_lead(
            group_b, status="qualified", name="Yael Cohen", detected_at=now - timedelta(minutes=3)
        ),
        ivan=make_lead(
            group_b,
            status="converted",
            name="Иван Петров",
            keyword="ищу",
            detected_at=now - timedelta(minutes=4),
        ),
        lina=make_lead(
            group_a, status="lost", name="Lina", phone="", detected_at=now - timedelta(minutes=5)
        ),
    )
    store.adopt()
    return world


def ids(page_rows: tuple) -> list[uuid.UUID]:
    return [row.id for row in page_rows]


# --- reading ----------------------------------------------------------------------------


def test_it_lists_newest_first_with_the_total(source: LeadSource, world: World) -> None:
    page = source.list_leads(LeadQuery())
    assert ids(page.rows) == world.newest_first
    assert (page.total, page.has_next) == (5, False)
    first = page.rows[0]
    assert first.contact_name == "Dana Levi"
    assert first.status == Status.NEW
    assert first.source_group.name == "Real Estate IL"
    assert first.matched_keyword == "price"
    assert page.rows[-1].contact_phone is None


def test_it_pages_through_every_lead_once(source: LeadSource, world: World) -> None:
    first = source.list_leads(LeadQuery(), offset=0, limit=2)
    second = source.list_leads(LeadQuery(), offset=2, limit=2)
    last = source.list_leads(LeadQuery(), offset=4, limit=2)
    assert [first.has_next, second.has_next, last.has_next] == [True, True, False]
    assert first.total == second.total == last.total == 5
    assert ids(first.rows) + ids(second.rows) + ids(last.rows) == world.newest_first


def test_it_lists_the_ids_of_every_matching_lead_up_to_a_limit(
    source: LeadSource, world: World
) -> None:
    in_group_a = LeadQuery(source_group_id=world.dana.source_group_id)

    assert source.matching_ids(LeadQuery(), 10) == world.newest_first
    assert source.matching_ids(in_group_a, 10) == [world.dana.id, world.omar.id, world.lina.id]
    assert source.matching_ids(LeadQuery(), 3) == world.newest_first[:3]


def test_pages_without_a_total_still_say_whether_more_follow(
    source: LeadSource, world: World
) -> None:
    # The board asks this way: it has the counts per status already, and a COUNT per column
    # would make a big column slower to open than a small one.
    pages = [
        source.list_leads(LeadQuery(), offset=offset, limit=2, count_total=False)
        for offset in (0, 2, 4)
    ]
    assert [page.has_next for page in pages] == [True, True, False]
    assert [lead_id for page in pages for lead_id in ids(page.rows)] == world.newest_first
    # The store skips the COUNT it was told not to make (only the last page knows the total
    # from its own length); every MoltFlow page carries its total for free.
    expected = [None, None, 5] if isinstance(source, LocalSource) else [5, 5, 5]
    assert [page.total for page in pages] == expected


def test_a_page_larger_than_the_upstream_maximum_is_complete(
    source: LeadSource, world: World, store: Store
) -> None:
    group = make_group(name="Busy group")
    old = timezone.now() - timedelta(days=1)
    Lead.objects.bulk_create(
        Lead(
            source_group=group,
            contact_jid=f"1555000{n:04d}@c.us",
            contact_phone=f"+1555000{n:04d}",
            lead_detected_at=old - timedelta(minutes=n),
        )
        for n in range(120)
    )
    store.adopt()
    page = source.list_leads(LeadQuery(), offset=3, limit=110)
    expected = list(Lead.objects.order_by("-lead_detected_at", "-id").values_list("id", flat=True))
    assert ids(page.rows) == expected[3:113]
    assert (page.total, page.has_next) == (125, True)


def test_it_filters_by_status_group_and_search(source: LeadSource, world: World) -> None:
    def listed(**filters: object) -> list[uuid.UUID]:
        return ids(source.list_leads(LeadQuery(**filters)).rows)

    assert listed(status=Status.QUALIFIED) == [world.yael.id]
    assert listed(source_group_id=world.dana.source_group_id) == [
        world.dana.id,
        world.omar.id,
        world.lina.id,
    ]
    assert listed(search="haddad") == [world.omar.id]
    assert listed(search="PRICE") == [world.dana.id, world.yael.id, world.lina.id]
    assert listed(search="ИЩУ") == [world.ivan.id]
    assert listed(search="972521234567") == [world.omar.id]
    assert listed(status=Status.NEW, search="haddad") == []


def test_it_lists_only_the_leads_asked_for_by_id(source: LeadSource, world: World) -> None:
    # The table's "show the leads not moved" link: a short list of ids, some maybe gone.
    asked = (world.ivan.id, uuid.uuid4(), world.dana.id, world.yael.id)
    page = source.list_leads(LeadQuery(ids=asked))
    assert ids(page.rows) == [world.dana.id, world.yael.id, world.ivan.id]
    assert (page.total, page.has_next) == (3, False)
    second = source.list_leads(LeadQuery(ids=asked), offset=1, limit=1)
    assert ids(second.rows) == [world.yael.id]
    assert (second.total, second.has_next) == (3, True)
    # The other filters narrow the same set, and the counts per status ignore the status.
    assert ids(source.list_leads(LeadQuery(ids=asked, status=Status.QUALIFIED)).rows) == [
        world.yael.id
    ]
    assert ids(source.list_leads(LeadQuery(ids=asked, search="ИЩУ")).rows) == [world.ivan.id]
    assert source.count_by_status(LeadQuery(ids=asked, status=Status.NEW)) == {
        Status.NEW: 1,
        Status.CONTACTED: 0,
        Status.QUALIFIED: 1,
        Status.CONVERTED: 1,
        Status.LOST: 0,
    }


def test_an_id_list_longer_than_the_source_looks_up_is_refused(
    source: LeadSource, world: World
) -> None:
    capabilities = source.capabilities()
    assert "ids" in capabilities.filters
    if capabilities.max_ids is None:
        many = tuple(uuid.uuid4() for _ in range(150)) + (world.omar.id,)
        assert ids(source.list_leads(LeadQuery(ids=many)).rows) == [world.omar.id]
        return
    too_many = tuple(uuid.uuid4() for _ in range(capabilities.max_ids)) + (world.omar.id,)
    with pytest.raises(Unsupported):
        source.list_leads(LeadQuery(ids=too_many))


def test_owning_more_leads_than_the_source_reads_one_by_one_shows_counts_as_capped(
    source: LeadSource, store: Store, django_user_model
) -> None:
    # MoltFlow cannot filter by our owners: it reads the most recently assigned IDS_MAX one by
    # one, and must not present that as the whole number.
    rick = django_user_model.objects.create_user("rick")
    group = make_group()
    for _ in range(IDS_MAX + 1):
        assignments.lead_take(make_lead(group).id, rick)
    store.adopt()

    counts = source.count_by_status_capped(LeadQuery(owner_id=rick.pk), COUNT_CAP, TAB_COUNT_CAP)

    if isinstance(source, MoltflowSource):
        assert counts.matching(None) == (IDS_MAX, True)  # shown as "20+"
    else:
        assert counts.matching(None) == (IDS_MAX + 1, False)


def test_it_lists_the_leads_a_person_owns_and_where_it_can_the_unassigned_ones(
    source: LeadSource, world: World, django_user_model
) -> None:
    # Owners are kept here beside either source's leads, keyed by the lead's id.
    rick = django_user_model.objects.create_user("rick")
    rita = django_user_model.objects.create_user("rita")
    assignments.lead_take(world.omar.id, rick)
    assignments.lead_take(world.ivan.id, rick)
    assignments.lead_take(world.yael.id, rita)
    assert ids(source.list_leads(LeadQuery(owner_id=rick.pk)).rows) == [
        world.omar.id,
        world.ivan.id,
    ]
    assert ids(source.list_leads(LeadQuery(owner_id=rick.pk, status=Status.CONVERTED)).rows) == [
        world.ivan.id
    ]
    assert source.count_by_status(LeadQuery(owner_id=rick.pk))[Status.CONTACTED] == 1
    nobody = django_user_model.objects.create_user("nobody")
    assert source.list_leads(LeadQuery(owner_id=nobody.pk)).rows == ()
    assert sum(source.count_by_status(LeadQuery(owner_id=nobody.pk)).values()) == 0
    if "unassigned" not in source.capabilities().filters:
        with pytest.raises(Unsupported):
            source.list_leads(LeadQuery(unassigned=True))
        return
    assert ids(source.list_leads(LeadQuery(unassigned=True)).rows) == [
        world.dana.id,
        world.lina.id,
    ]


def test_it_lists_the_leads_whose_follow_up_falls_in_a_window(
    source: LeadSource, world: World, django_user_model
) -> None:
    # Follow-ups are kept here beside either source's leads, keyed by the lead's id.
    rick = django_user_model.objects.create_user("rick")
    now = timezone.now()
    lead_set_follow_up(world.omar.id, now - timedelta(hours=1), rick)
    lead_set_follow_up(world.yael.id, now - timedelta(days=3), rick)
    lead_set_follow_up(world.dana.id, now + timedelta(hours=1), rick)
    assignments.lead_take(world.yael.id, rick)
    overdue = LeadQuery(due_before=now)
    assert ids(source.list_leads(overdue).rows) == [world.omar.id, world.yael.id]
    assert source.count_by_status(overdue)[Status.QUALIFIED] == 1
    window = LeadQuery(due_from=now - timedelta(hours=2), due_before=now + timedelta(hours=2))
    assert ids(source.list_leads(window).rows) == [world.dana.id, world.omar.id]
    mine_overdue = LeadQuery(due_before=now, owner_id=rick.pk)
    assert ids(source.list_leads(mine_overdue).rows) == [world.yael.id]
    assert source.list_leads(LeadQuery(due_before=now - timedelta(days=30))).rows == ()


def test_a_listed_lead_carries_its_message_count_unless_the_list_has_none(
    source: LeadSource, world: World, store: Store
) -> None:
    store.update(world.omar, message_count=4)
    row = next(row for row in source.list_leads(LeadQuery()).rows if row.id == world.omar.id)
    # MoltFlow's list of leads does not carry the count (only its detail does): unknown, not 0.
    assert row.message_count == (None if source.name == "moltflow" else 4)
    assert source.get_lead(world.omar.id).message_count == 4


def test_it_counts_leads_per_status(source: LeadSource, world: World) -> None:
    assert source.count_by_status() == {
        Status.NEW: 1,
        Status.CONTACTED: 1,
        Status.QUALIFIED: 1,
        Status.CONVERTED: 1,
        Status.LOST: 1,
    }
    in_group_b = source.count_by_status(LeadQuery(source_group_id=world.yael.source_group_id))
    assert in_group_b == {
        Status.NEW: 0,
        Status.CONTACTED: 0,
        Status.QUALIFIED: 1,
        Status.CONVERTED: 1,
        Status.LOST: 0,
    }


def test_it_shows_one_lead_in_detail(source: LeadSource, world: World) -> None:
    detail = source.get_lead(world.omar.id)
    assert isinstance(detail, LeadDetail)
    assert detail.id == world.omar.id
    assert detail.status == Status.CONTACTED
    assert detail.contact_phone == "+972521234567"
    assert detail.message_count == 1
    assert detail.session_id == world.omar.source_group.session_id
    assert detail.source_group.wa_group_id == world.omar.source_group.wa_group_id
    assert detail.updated_at is not None


def test_an_unknown_lead_is_not_found(source: LeadSource, world: World) -> None:
    unknown = uuid.uuid4()
    with pytest.raises(NotFound):
        source.get_lead(unknown)
    with pytest.raises(NotFound):
        source.change_status(unknown, Status.CONTACTED, actor=ACTOR)
    with pytest.raises(NotFound):
        source.reciprocity(unknown, world.dana.source_group.session_id)


def test_it_lists_monitored_and_custom_groups(source: LeadSource, world: World) -> None:
    groups = source.list_groups()
    assert [group.name for group in groups] == ["Berlin Wohnungen", "Real Estate IL"]
    assert groups[1].wa_group_id == world.dana.source_group.wa_group_id
    assert groups[1].session_id == world.dana.source_group.session_id
    assert source.list_custom_groups() == ()


def test_it_lists_the_sessions_by_name(source: LeadSource, world: World) -> None:
    sessions = source.list_sessions()
    session_id = world.dana.source_group.session_id
    assert session_id in {session.id for session in sessions}
    named = next(session for session in sessions if session.id == session_id)
    assert named.name == world.dana.source_group.session.name


# --- changing status --------------------------------------------------------------------


def test_it_moves_a_lead_the_pipeline_allows(
    source: LeadSource, world: World, store: Store
) -> None:
    source.list_leads(LeadQuery())  # a screen has the list cached
    moved = source.change_status(world.dana.id, Status.CONTACTED, actor=ACTOR)
    assert moved.status == Status.CONTACTED
    assert store.status(world.dana) == "contacted"
    assert store.history(world.dana) in (["contacted"], None)
    # What every screen reads next shows the move, cache or not.
    assert source.list_leads(LeadQuery()).rows[0].status == Status.CONTACTED
    assert source.get_lead(world.dana.id).status == Status.CONTACTED


def test_it_refuses_a_move_the_pipeline_forbids(
    source: LeadSource, world: World, store: Store
) -> None:
    with pytest.raises(InvalidTransition) as refused:
        source.change_status(world.ivan.id, Status.NEW, actor=ACTOR)
    assert isinstance(refused.value, PipelineInvalidTransition)
    assert (refused.value.current, refused.value.target) == ("converted", "new")
    assert store.status(world.ivan) == "converted"
    assert store.history(world.ivan) in ([], None)


def test_a_refusal_names_the_status_the_lead_really_has(
    source: LeadSource, world: World, store: Store
) -> None:
    source.get_lead(world.dana.id)  # cached as "new"
    store.update(world.dana, lead_status="converted")  # moved elsewhere
    with pytest.raises(InvalidTransition) as refused:
        source.change_status(world.dana.id, Status.QUALIFIED, actor=ACTOR)
    assert refused.value.current == "converted"


def test_a_stale_screen_cannot_move_a_lead(source: LeadSource, world: World, store: Store) -> None:
    with pytest.raises(StaleStatus) as refused:
        source.change_status(
            world.dana.id, Status.QUALIFIED, actor=ACTOR, expected_status=Status.CONTACTED
        )
    assert (refused.value.current, refused.value.expected) == ("new", "contacted")
    assert store.status(world.dana) == "new"
    moved = source.change_status(
        world.dana.id, Status.QUALIFIED, actor=ACTOR, expected_status=Status.NEW
    )
    assert moved.status == Status.QUALIFIED


def test_a_bulk_move_reports_every_lead_it_did_not_move(
    source: LeadSource, world: World, store: Store
) -> None:
    unknown = uuid.uuid4()
    outcome = source.bulk_change_status(
        [world.dana.id, world.ivan.id, unknown, world.dana.id, world.omar.id],
        Status.LOST,
        actor=ACTOR,
    )
    assert sorted(outcome.updated) == sorted([world.dana.id, world.omar.id])
    failures = {failure.lead_id: failure for failure in outcome.failed}
    assert set(failures) == {world.ivan.id, unknown}
    assert failures[world.ivan.id].current_status == Status.CONVERTED
    assert failures[unknown].current_status is None
    assert store.status(world.dana) == store.status(world.omar) == "lost"
    assert store.status(world.ivan) == "converted"
    assert source.count_by_status()[Status.LOST] == 3


# --- custom groups, reciprocity, export ----------------------------------------------------


def test_it_adds_leads_to_a_custom_group(source: LeadSource, world: World, store: Store) -> None:
    buyers = source.create_custom_group("Buyers")
    assert (buyers.name, buyers.member_count) == ("Buyers", 0)
    leads = [world.dana.id, world.yael.id, world.lina.id]  # Lina's number is hidden
    first = source.add_to_custom_group(leads, buyers.id)
    assert (first.added, first.skipped) == (2, 1)
    again = source.add_to_custom_group(leads, buyers.id)
    assert (again.added, again.skipped) == (0, 3)
    assert store.members(buyers.id) == {world.dana.contact_phone, world.yael.contact_phone}
    assert [(g.name, g.member_count) for g in source.list_custom_groups()] == [("Buyers", 2)]
    with pytest.raises(NotFound):
        source.add_to_custom_group(leads, uuid.uuid4())


def test_it_tells_whether_the_contact_wrote_first(
    source: LeadSource, world: World, store: Store
) -> None:
    session_id = world.dana.source_group.session_id
    wrote_at = timezone.now() - timedelta(minutes=30)
    store.wrote_first(world.dana, wrote_at)
    dana = source.reciprocity(world.dana.id)
    assert dana.has_messaged_first is True
    assert dana.session_id == session_id
    # MoltFlow's documented examples give whole seconds; the mirror sends microseconds.
    assert abs((dana.last_inbound_at - wrote_at).total_seconds()) < 1
    omar = source.reciprocity(world.omar.id, session_id)
    assert (omar.has_messaged_first, omar.last_inbound_at) == (False, None)


def read_export(source: LeadSource, fmt: str, query: LeadQuery) -> bytes:
    export = source.export(fmt, query)
    try:
        return b"".join(export.chunks)
    finally:
        export.chunks.close()


def test_it_exports_what_the_filters_select(source: LeadSource, world: World) -> None:
    rows = list(csv.reader(io.StringIO(read_export(source, "csv", LeadQuery()).decode())))
    assert rows[0][:4] == ["id", "contact_phone", "contact_name", "lead_status"]
    assert [row[0] for row in rows[1:]] == [str(lead_id) for lead_id in world.newest_first]
    in_group_b = json.loads(
        read_export(source, "json", LeadQuery(source_group_id=world.yael.source_group_id))
    )
    assert [item["id"] for item in in_group_b] == [str(world.yael.id), str(world.ivan.id)]
    assert in_group_b[1]["contact_name"] == "Иван Петров"


# --- capabilities -------------------------------------------------------------------------


def test_it_says_what_it_can_do_on_the_business_plan(source: LeadSource, world: World) -> None:
    capabilities = source.capabilities()
    assert capabilities.source == source.name
    assert capabilities.plan == "business"
    assert capabilities.bulk and capabilities.export
    assert "-detected_at" in capabilities.sorts
    assert {"status", "source_group_id", "search"} <= capabilities.filters


def test_bulk_and_export_are_refused_below_pro(
    source: LeadSource, world: World, store: Store
) -> None:
    store.set_plan(Plan.STARTER)
    capabilities = source.capabilities()
    assert capabilities.plan == "starter"
    assert not capabilities.bulk and not capabilities.export
    with pytest.raises(Forbidden) as refused:
        source.bulk_change_status([world.dana.id], Status.CONTACTED, actor=ACTOR)
    assert refused.value.kind == "plan"
    assert "Pro plan" in refused.value.reason
    with pytest.raises(Forbidden):
        source.export("csv", LeadQuery())
    assert store.status(world.dana) == "new"
    # Single moves stay open to every plan.
    assert source.change_status(world.dana.id, Status.CONTACTED, actor=ACTOR).status == "contacted"


def test_every_sort_is_either_applied_or_refused(source: LeadSource, world: World) -> None:
    capabilities = source.capabilities()
    for sort in SORT_KEYS:
        query = LeadQuery(sort=sort)
        if not capabilities.supports_sort(sort):
            with pytest.raises(Unsupported):
                source.list_leads(query)
            continue
        rows = source.list_leads(query).rows
        if sort == "contact_name":
            names = [row.contact_name for row in rows]
            assert names == sorted(names, key=str.casefold)
        if sort == "detected_at":
            assert ids(rows) == world.newest_first[::-1]
        if sort == "group_name":
            # Berlin Wohnungen before Real Estate IL, newest first within each group.
            assert ids(rows) == [
                world.yael.id,
                world.ivan.id,
                world.dana.id,
                world.omar.id,
                world.lina.id,
            ]


def test_every_filter_is_either_applied_or_refused(source: LeadSource, world: World) -> None:
    capabilities = source.capabilities()
    query = LeadQuery(detected_from=timezone.now() - timedelta(minutes=3, seconds=30))
    if "detected_from" in capabilities.filters:
        assert ids(source.list_leads(query).rows) == world.newest_first[:3]
    else:
        with pytest.raises(Unsupported):
            source.list_leads(query)
