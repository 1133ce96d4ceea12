"""The groups settings page: monitor a group, edit its mode and keywords, adopt seen groups."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from leads.models import MonitoredGroup, SeenGroup
from leads.roles import MANAGER, set_user_role
from tests.factories import make_group, make_session, set_plan

URL = "/settings/groups/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    user = get_user_model().objects.create_user("manager", is_staff=True)
    set_user_role(user, MANAGER)
    client = Client()
    client.force_login(user)
    return client


def seen_group(session, wa_group_id: str = "120363111111111111@g.us", **fields) -> SeenGroup:
    return SeenGroup.objects.create(
        session=session, wa_group_id=wa_group_id, last_seen_at=timezone.now(), **fields
    )


def add(client: Client, session, **fields: str):
    data = {
        "session": str(session.pk),
        "wa_group_id": "120363012345678901@g.us",
        "name": "Real Estate IL",
        "monitor_mode": "keywords",
        "monitor_keywords": "price\nLooking for\n\nprice\nמחיר",
        **fields,
    }
    return client.post(URL, data)


def test_the_page_is_for_staff_only():
    member = get_user_model().objects.create_user("member")
    client = Client()

    assert client.get(URL).status_code == 302
    client.force_login(member)
    # Signed in but only a viewer: refused, not sent to sign in again.
    assert client.get(URL).status_code == 403
    assert client.post(URL, {}).status_code == 403


def test_it_lists_monitored_groups_with_their_keywords_one_per_line(staff):
    make_group(name="Real Estate IL", keywords=["price", "מחיר"])

    response = staff.get(URL)

    assert response.status_code == 200
    assert "Real Estate IL" in response.text
    assert "price\nמחיר</textarea>" in response.text
    assert "1 of 100 monitored groups used on the Business plan." in response.text


def test_it_adds_a_group_with_its_mode_and_tidied_keywords(staff):
    session = make_session()

    response = add(staff, session)

    assert response.status_code == 302
    group = MonitoredGroup.objects.get()
    assert (group.session, group.wa_group_id, group.name, group.monitor_mode) == (
        session,
        "120363012345678901@g.us",
        "Real Estate IL",
        "keywords",
    )
    assert group.monitor_keywords == ["price", "Looking for", "מחיר"]
    assert "Now monitoring Real Estate IL." in staff.get(URL).text


def test_it_refuses_a_group_id_that_is_not_a_group(staff):
    response = add(staff, make_session(), wa_group_id="972521234567@c.us")

    assert response.status_code == 400
    assert "A group id looks like" in response.text
    assert not MonitoredGroup.objects.exists()


def test_it_refuses_a_group_already_monitored_on_that_session(staff):
    group = make_group()

    response = add(staff, group.session, wa_group_id=group.wa_group_id)

    assert response.status_code == 400
    assert "already monitored" in response.text
    assert MonitoredGroup.objects.count() == 1


def test_it_refuses_a_keyword_too_long_to_store(staff):
    response = add(staff, make_session(), monitor_keywords="x" * 201)

    assert response.status_code == 400
    assert not MonitoredGroup.objects.exists()


def test_it_respects_the_plans_limit_of_monitored_groups(staff):
    set_plan("free")
    session = make_session()
    make_group(session)
    make_group(session)

    response = add(staff, session)

    assert response.status_code == 400
    assert "The Free plan allows 2 monitored groups" in response.text
    assert MonitoredGroup.objects.count() == 2


def test_a_full_plan_hides_the_add_form_and_disables_start_monitoring(staff):
    set_plan("free")
    session = make_session()
    make_group(session)
    make_group(session)
    seen_group(session)

    response = staff.get(URL)

    assert "all are in use" in response.text
    assert '<button type="submit" disabled>Start monitoring</button>' in response.text


def test_it_saves_a_groups_mode_keywords_and_pause(staff):
    group = make_group(keywords=["price"])
    prefix = f"group-{group.pk}"

    response = staff.post(
        f"{URL}{group.pk}/",
        {
            f"{prefix}-monitor_mode": "first_message",
            f"{prefix}-monitor_keywords": "  budget \n\nцена\n",
        },
    )

    assert response.status_code == 302
    group.refresh_from_db()
    assert (group.monitor_mode, group.monitor_keywords, group.is_active) == (
        "first_message",
        ["budget", "цена"],
        False,
    )
    assert "(paused)" in staff.get(URL).text


def test_an_unknown_mode_is_refused_and_nothing_changes(staff):
    group = make_group(keywords=["price"])
    prefix = f"group-{group.pk}"

    response = staff.post(
        f"{URL}{group.pk}/",
        {f"{prefix}-monitor_mode": "everything", f"{prefix}-monitor_keywords": "x"},
    )

    assert response.status_code == 400
    group.refresh_from_db()
    assert (group.monitor_mode, group.monitor_keywords) == ("keywords", ["price"])


def test_it_lists_groups_seen_but_not_monitored(staff):
    session = make_session()
    monitored = make_group(session)
    seen_group(session, monitored.wa_group_id)
    seen_group(session, "120363222222222222@g.us", name="Bargains <b>TLV</b>", message_count=7)

    response = staff.get(URL)

    seen_section = response.text.split('id="seen-groups"')[1]
    assert "120363222222222222@g.us" in seen_section
    assert "Bargains &lt;b&gt;TLV&lt;/b&gt;" in seen_section
    assert monitored.wa_group_id not in seen_section


def test_one_click_starts_monitoring_a_seen_group(staff):
    session = make_session()
    seen = seen_group(session, name="Bargains TLV")

    response = staff.post(f"{URL}seen/{seen.pk}/monitor/")

    assert response.status_code == 302
    group = MonitoredGroup.objects.get()
    assert (group.session, group.wa_group_id, group.name, group.is_active) == (
        session,
        seen.wa_group_id,
        "Bargains TLV",
        True,
    )
    page = staff.get(URL).text
    assert "Now monitoring Bargains TLV" in page
    assert "None: every group the sessions have seen is monitored." in page


def test_starting_to_monitor_a_paused_group_switches_it_back_on(staff):
    group = make_group()
    group.is_active = False
    group.save()
    seen = seen_group(group.session, group.wa_group_id)

    staff.post(f"{URL}seen/{seen.pk}/monitor/")

    group.refresh_from_db()
    assert group.is_active
    assert MonitoredGroup.objects.count() == 1


def test_one_click_respects_the_plan_limit(staff):
    set_plan("free")
    session = make_session()
    make_group(session)
    make_group(session)
    seen = seen_group(session)

    response = staff.post(f"{URL}seen/{seen.pk}/monitor/", follow=True)

    assert "The Free plan allows 2 monitored groups" in response.text
    assert MonitoredGroup.objects.count() == 2


def test_forms_need_their_csrf_token():
    user = get_user_model().objects.create_user("manager", is_staff=True)
    set_user_role(user, MANAGER)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    seen = seen_group(make_session())

    assert client.post(f"{URL}seen/{seen.pk}/monitor/").status_code == 403
    assert not MonitoredGroup.objects.exists()
    assert 'name="csrfmiddlewaretoken"' in client.get(URL).text


def test_start_monitoring_only_accepts_post(staff):
    seen = seen_group(make_session())

    assert staff.get(f"{URL}seen/{seen.pk}/monitor/").status_code == 405
