"""Follow-ups: a due date and time per lead, set from the lead page or a board card, the
"Due today" and "Overdue" filters, and the timeline.

Personas: a viewer (Vera), a rep (Rick) and a manager (Mona).
"""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone

from leads import assignments, follow_ups
from leads.follow_ups import BadDueTime, due_window, lead_set_follow_up, parse_due
from leads.models import LeadFollowUp, LeadTimelineEntry, TimelineKind
from leads.roles import VIEWER
from leads.views.board import MENU_STAND_IN
from tests.factories import make_lead
from tests.people import person, signed_in

pytestmark = pytest.mark.django_db

TABLE, BOARD = "/leads/", "/leads/board/"
HTMX = {"HX-Request": "true", "HX-Target": "lead-panel"}


@pytest.fixture
def vera() -> User:
    return person("vera", VIEWER, "Vera")


def follow_up_url(lead_id: uuid.UUID) -> str:
    return f"/leads/{lead_id}/follow-up/"


# --- the rules ------------------------------------------------------------------------------


def test_a_due_time_is_read_in_the_configured_time_zone() -> None:
    with override_settings(TIME_ZONE="Asia/Jerusalem"), timezone.override("Asia/Jerusalem"):
        due = parse_due("2026-12-03T10:00")
    assert due == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("raw", ["", "tomorrow", "2026-13-01T10:00", "0001-01-01T00:00"])
def test_a_due_time_that_cannot_be_read_or_is_out_of_range_is_refused(raw: str) -> None:
    with pytest.raises(BadDueTime):
        parse_due(raw)


def test_due_today_is_the_local_calendar_day_and_overdue_is_before_now() -> None:
    now = datetime(2026, 12, 2, 22, 30, tzinfo=UTC)  # already Dec 3rd in Jerusalem
    with timezone.override("Asia/Jerusalem"):
        start, end = due_window("today", now)
    assert (start, end) == (
        datetime(2026, 12, 2, 22, 0, tzinfo=UTC),
        datetime(2026, 12, 3, 22, 0, tzinfo=UTC),
    )
    assert due_window("overdue", now) == (None, now)
    assert due_window("", now) == (None, None)


def test_setting_moving_and_clearing_a_follow_up_each_write_one_timeline_entry(
    rick: User,
) -> None:
    lead = make_lead()
    now = timezone.now()
    due = now + timedelta(days=1)
    assert lead_set_follow_up(lead.id, due, rick, now=now) == follow_ups.FollowUp(due, False)
    lead_set_follow_up(lead.id, due, rick, now=now)  # the same again: nothing new
    later = due + timedelta(hours=2)
    lead_set_follow_up(lead.id, later, rick, now=now)
    assert LeadFollowUp.objects.get(lead_id=lead.id).due_at == later
    assert lead_set_follow_up(lead.id, None, rick, now=now) is None
    entries = LeadTimelineEntry.objects.filter(lead_id=lead.id, kind=TimelineKind.FOLLOW_UP)
    texts = list(entries.order_by("id").values_list("text", flat=True))
    assert len(texts) == 3
    assert texts[0].startswith("set a follow-up for") and texts[2] == "cleared the follow-up"
    assert not LeadFollowUp.objects.filter(lead_id=lead.id).exists()


def test_a_follow_up_in_the_past_is_overdue(rick: User) -> None:
    lead = make_lead()
    now = timezone.now()
    lead_set_follow_up(lead.id, now - timedelta(minutes=1), rick, now=now)
    assert follow_ups.follow_up_of(lead.id, now).overdue  # type: ignore[union-attr]


def test_follow_ups_are_kept_by_lead_id_so_a_moltflow_lead_can_have_one(rick: User) -> None:
    moltflow_lead_id = uuid.uuid4()  # not in the local store at all
    due = timezone.now() + timedelta(hours=1)
    lead_set_follow_up(moltflow_lead_id, due, rick)
    assert follow_ups.follow_ups_of([moltflow_lead_id])[moltflow_lead_id].due_at == due


# --- the lead page and the board card -------------------------------------------------------


def test_a_rep_sets_a_follow_up_from_the_lead_page(rick: User) -> None:
    lead = make_lead(name="Dana Levi")
    client = signed_in(rick)
    response = client.post(follow_up_url(lead.id), {"due_at": "2030-01-02T09:30"})
    assert response.status_code == 302 and response["Location"] == f"/leads/{lead.id}/"
    assert LeadFollowUp.objects.get(lead_id=lead.id).due_at == parse_due("2030-01-02T09:30")
    page = client.get(f"/leads/{lead.id}/").content.decode()
    assert 'id="lead-follow-up"><time class="due"' in page
    assert 'value="2030-01-02T09:30"' in page
    assert "set a follow-up for Wed 02 Jan 2030, 09:30" in page


def test_an_htmx_follow_up_answers_with_the_lead_panel(rick: User) -> None:
    lead = make_lead()
    response = signed_in(rick).post(
        follow_up_url(lead.id), {"due_at": "2030-01-02T09:30"}, headers=HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert 'id="lead-panel"' in body and "Follow-up set." in body
    assert response["HX-Trigger"].startswith('{"lead-follow-up-changed"')


def test_a_rep_clears_a_follow_up(rick: User) -> None:
    lead = make_lead()
    lead_set_follow_up(lead.id, timezone.now() + timedelta(days=1), rick)
    signed_in(rick).post(follow_up_url(lead.id), {"action": "clear"})
    assert not LeadFollowUp.objects.filter(lead_id=lead.id).exists()


def test_a_bad_due_time_says_why_and_changes_nothing(rick: User) -> None:
    lead = make_lead()
    client = signed_in(rick)
    response = client.post(
        follow_up_url(lead.id), {"due_at": "<script>soon"}, headers=HTMX, follow=True
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Follow-up not set:" in body and "<script>soon" not in body
    assert not LeadFollowUp.objects.exists()


def test_a_viewer_cannot_set_a_follow_up_and_does_not_see_the_form(vera: User) -> None:
    lead = make_lead()
    client = signed_in(vera)
    response = client.post(follow_up_url(lead.id), {"due_at": "2030-01-02T09:30"})
    assert response.status_code == 403
    assert not LeadFollowUp.objects.exists()
    page = client.get(f"/leads/{lead.id}/").content.decode()
    assert "Set follow-up" not in page and "none set" in page


def test_setting_a_follow_up_needs_the_csrf_token(rick: User) -> None:
    lead = make_lead()
    client = signed_in(rick, enforce_csrf_checks=True)
    response = client.post(follow_up_url(lead.id), {"due_at": "2030-01-02T09:30"})
    assert response.status_code == 403
    assert not LeadFollowUp.objects.exists()


def test_an_unknown_lead_is_404_not_a_follow_up(rick: User) -> None:
    response = signed_in(rick).post(follow_up_url(uuid.uuid4()), {"due_at": "2030-01-02T09:30"})
    assert response.status_code == 404
    assert not LeadFollowUp.objects.exists()


def test_a_board_card_sets_a_follow_up_and_returns_to_the_board(rick: User) -> None:
    lead = make_lead(name="Dana Levi")
    client = signed_in(rick)
    board = client.get(BOARD, {"q": "dana"}).content.decode()
    # The card's menu is copied from the board's one follow-up form (board.js), the card's id
    # put in the stand-in's place; the browser test fills one in through it.
    assert f'action="{follow_up_url(MENU_STAND_IN)}"' in board
    assert f'id="card-{lead.id}"' in board
    response = client.post(
        follow_up_url(lead.id), {"due_at": "2030-01-02T09:30", "next": "/leads/board/?q=dana"}
    )
    assert response["Location"] == "/leads/board/?q=dana"
    board = client.get(BOARD, {"q": "dana"}).content.decode()
    assert 'class="card__due">Follow up <time class="due"' in board


# --- the filters ----------------------------------------------------------------------------


@pytest.fixture
def midday() -> Iterator[None]:
    """A time zone where it is about noon now, so "today" has hours left on either side."""
    offset = 12 - timezone.now().hour
    offset = offset - 24 if offset > 12 else offset
    with timezone.override(f"Etc/GMT{-offset:+d}"):
        yield


@pytest.fixture
def due_leads(rick: User, midday: None) -> dict[str, uuid.UUID]:
    now = timezone.now()
    start_of_today, _ = due_window("today", now)
    assert start_of_today is not None
    made = {
        name: make_lead(name=name).id
        for name in ("Late Buyer", "Later Today Buyer", "Next Week Buyer", "No Date Buyer")
    }
    lead_set_follow_up(made["Late Buyer"], start_of_today - timedelta(days=2), rick)
    lead_set_follow_up(made["Later Today Buyer"], now + timedelta(hours=3), rick)
    lead_set_follow_up(made["Next Week Buyer"], now + timedelta(days=7), rick)
    return made


def test_overdue_lists_only_the_leads_whose_follow_up_has_passed(
    mona: User, due_leads: dict[str, uuid.UUID]
) -> None:
    page = signed_in(mona).get(TABLE, {"due": "overdue"}).content.decode()
    assert "Late Buyer" in page
    assert not any(name in page for name in ("Later Today", "Next Week", "No Date"))
    assert "<strong>overdue</strong>" in page


def test_due_today_lists_the_leads_due_on_todays_date(
    mona: User, due_leads: dict[str, uuid.UUID]
) -> None:
    page = signed_in(mona).get(TABLE, {"due": "today"}).content.decode()
    assert "Later Today Buyer" in page
    assert not any(name in page for name in ("Late Buyer", "Next Week", "No Date"))


def test_the_follow_up_filters_combine_with_my_leads(
    rick: User, due_leads: dict[str, uuid.UUID]
) -> None:
    assignments.lead_take(due_leads["Next Week Buyer"], rick)
    client = signed_in(rick)
    assert "Late Buyer" not in client.get(TABLE, {"due": "overdue"}).content.decode()
    assignments.lead_take(due_leads["Late Buyer"], rick)
    page = client.get(TABLE, {"due": "overdue"}).content.decode()
    assert "Late Buyer" in page and "Next Week Buyer" not in page


def test_the_board_filters_by_follow_up_too(mona: User, due_leads: dict[str, uuid.UUID]) -> None:
    page = signed_in(mona).get(BOARD, {"due": "overdue"}).content.decode()
    assert "Late Buyer" in page and "Next Week Buyer" not in page
