"""The wall's per-person figures: leads owned, contacted today, overdue follow-ups, and the
median minutes from detection to first contact this week.

Personas: two reps (Rick and Rita) and a manager (Mona); time is injected.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from leads import assignments
from leads.follow_ups import lead_set_follow_up
from leads.models import LeadStatusChange, WallLink
from leads.roles import MANAGER, REP, set_user_role
from leads.team_figures import team_figures
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

# A Wednesday noon: Monday 00:00 and today's midnight are both well before it.
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def person(username: str, role: str, first_name: str = "", last_name: str = "") -> User:
    user = User.objects.create_user(
        username, password="pw", first_name=first_name, last_name=last_name
    )
    set_user_role(user, role)
    return user


def first_contact(user: User, detected_ago: timedelta, contacted_at: datetime) -> None:
    """A lead detected `detected_ago` before `contacted_at`, moved new → contacted by `user`."""
    lead = make_lead(detected_at=contacted_at - detected_ago)
    LeadStatusChange.objects.create(
        lead=lead,
        from_status="new",
        to_status="contacted",
        actor_kind="user",
        user=user,
        actor_label=user.username,
        changed_at=contacted_at,
    )


def by_name(figures: tuple) -> dict:
    return {figure.name: figure for figure in figures}


def test_each_person_gets_their_own_figures() -> None:
    rick, rita = person("rick", REP, "Rick"), person("rita", REP, "Rita")
    mona = person("mona", MANAGER, "Mona")
    owned_by_rick = [make_lead() for _ in range(3)]
    assignments.lead_bulk_assign([lead.id for lead in owned_by_rick], rick, mona)
    assignments.lead_take(make_lead().id, rita)
    # Two of Rick's leads are overdue, one is due later; an overdue lead nobody owns counts
    # for nobody.
    lead_set_follow_up(owned_by_rick[0].id, NOW - timedelta(hours=1), rick)
    lead_set_follow_up(owned_by_rick[1].id, NOW - timedelta(days=2), rick)
    lead_set_follow_up(owned_by_rick[2].id, NOW + timedelta(hours=1), rick)
    lead_set_follow_up(make_lead().id, NOW - timedelta(hours=1), rick)
    # Rick's first contacts: two today (10 and 30 min after detection), one on Monday
    # (50 min), one last week (not this week's); Rita's: none.
    first_contact(rick, timedelta(minutes=10), NOW - timedelta(hours=1))
    first_contact(rick, timedelta(minutes=30), NOW - timedelta(hours=2))
    first_contact(rick, timedelta(minutes=50), NOW - timedelta(days=2))
    first_contact(rick, timedelta(minutes=500), NOW - timedelta(days=8))

    figures = by_name(team_figures(NOW))

    assert (figures["Rick"].owned, figures["Rick"].overdue) == (3, 2)
    assert figures["Rick"].contacted_today == 2
    assert figures["Rick"].first_contact_minutes == 30  # the median of 10, 30 and 50
    assert (figures["Rita"].owned, figures["Rita"].contacted_today) == (1, 0)
    assert (figures["Rita"].overdue, figures["Rita"].first_contact_minutes) == (0, None)
    assert figures["Mona"].owned == 0
    assert list(figures) == ["Rick", "Rita", "Mona"]  # the busiest first


def test_a_move_that_was_not_a_first_contact_does_not_count() -> None:
    rick = person("rick", REP, "Rick")
    lead = make_lead(detected_at=NOW - timedelta(hours=3))
    LeadStatusChange.objects.create(
        lead=lead,
        from_status="lost",
        to_status="new",
        actor_kind="user",
        user=rick,
        changed_at=NOW - timedelta(hours=1),
    )
    assert by_name(team_figures(NOW))["Rick"].contacted_today == 0


def test_the_figures_cost_the_same_queries_for_a_bigger_team(
    django_assert_max_num_queries,
) -> None:
    person("rick", REP, "Rick")
    with django_assert_max_num_queries(10) as small:
        team_figures(NOW)
    for n in range(15):
        someone = person(f"rep{n}", REP, f"Rep{n}")
        assignments.lead_take(make_lead().id, someone)
        first_contact(someone, timedelta(minutes=n + 1), NOW - timedelta(hours=1))
    with django_assert_max_num_queries(len(small.captured_queries)):
        team_figures(NOW)


def test_the_wall_shows_the_team_by_first_name_escaped() -> None:
    rick = person("rick", REP, "<b>Rick</b>", "Levi")
    assignments.lead_take(make_lead().id, rick)
    first_contact(rick, timedelta(minutes=12), timezone.now())
    _, token = WallLink.issue("Sales floor")
    body = Client().get(f"/wall/{token}/").text
    assert 'id="wall-team-title"' in body
    assert "&lt;b&gt;Rick&lt;/b&gt;" in body and "<b>Rick</b>" not in body
    assert "Levi" not in body
    assert "<td>12 min</td>" in body
