"""A short idle setting never signs out a person who is using the dashboard (issue 12).

`DASHBOARD_SESSION_IDLE_MINUTES` is the longest a person may be idle. Renewing the session at
most once a minute meant that with a one-minute setting a click 50 seconds after the last
renewal did not count, and the next one, 50 seconds later, found the session gone.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session as DjangoSession
from django.test import Client

from leads.live import LAST_ACTIVE_KEY, renewal_step
from leads.roles import REP, set_user_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep(settings) -> Client:
    settings.SESSION_COOKIE_AGE = 60  # DASHBOARD_SESSION_IDLE_MINUTES=1
    user = User.objects.create_user("rick", password="pw")
    set_user_role(user, REP)
    client = Client()
    client.force_login(user)
    assert client.get("/leads/").status_code == 200
    return client


def travel(client: Client, seconds: int) -> None:
    """Let `seconds` pass for this session: its stored times move that far into the past."""
    key = client.session.session_key
    row = DjangoSession.objects.filter(session_key=key).first()
    if row is None:
        return  # already ended
    expire_date = row.expire_date
    session = client.session
    if LAST_ACTIVE_KEY in session:
        session[LAST_ACTIVE_KEY] -= seconds
        session.save()
    DjangoSession.objects.filter(session_key=key).update(
        expire_date=expire_date - timedelta(seconds=seconds)
    )


def test_a_person_clicking_every_50_seconds_stays_signed_in_with_a_1_minute_idle(rep) -> None:
    for _ in range(4):
        travel(rep, 50)
        response = rep.get("/leads/")
        assert response.status_code == 200, response.get("Location")


def test_a_person_idle_longer_than_the_setting_is_signed_out_within_a_step(rep) -> None:
    travel(rep, 50)
    assert rep.get("/leads/").status_code == 200
    travel(rep, 60 + renewal_step())

    response = rep.get("/leads/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_screen_polling_does_not_keep_an_idle_person_signed_in(rep) -> None:
    for _ in range(4):
        travel(rep, 20)
        rep.get("/live/events")
        rep.get("/leads/", headers={"HX-Request": "true", "X-Live-Refresh": "1"})

    assert rep.get("/leads/").status_code == 302
