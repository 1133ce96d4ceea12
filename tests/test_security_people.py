"""Managers run the team, but cannot take it over: superusers and the last manager are safe.

Only a superuser changes a superuser (a manager demoting or switching one off is refused and
changes nothing), and no change leaves the team without an active manager, even when two
managers demote each other at the same moment.
"""

import threading

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.urls import reverse

from leads.people import PersonChangeRefused, change_person
from leads.roles import MANAGER, VIEWER, set_user_role, user_role

pytestmark = pytest.mark.django_db


def manager(username: str) -> User:
    user = User.objects.create_user(username, password="pw")
    set_user_role(user, MANAGER)
    return user


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def update(client: Client, user: User, **form: str):
    return client.post(reverse("leads:user-update", args=[user.pk]), form)


def test_a_manager_cannot_demote_or_switch_off_a_superuser() -> None:
    root = User.objects.create_superuser("root", password="pw")
    root_client = signed_in(root)
    mona = signed_in(manager("mona"))

    demote = update(mona, root, role=VIEWER, is_active="on")
    switch_off = update(mona, root, role=MANAGER)  # no is_active: "cannot sign in"

    for response in (demote, switch_off):
        assert response.status_code == 403
        assert "only a superuser can change them" in response.text
    root.refresh_from_db()
    assert root.is_active and root.is_superuser
    assert not root.groups.filter(name=VIEWER).exists()
    assert root_client.get(reverse("leads:table")).status_code == 200  # still signed in


def test_a_superuser_can_change_another_superuser() -> None:
    root = signed_in(User.objects.create_superuser("root", password="pw"))
    other = User.objects.create_superuser("other", password="pw")

    response = update(root, other, role=MANAGER)

    assert response.status_code == 302
    other.refresh_from_db()
    assert not other.is_active


def test_no_change_removes_the_last_active_manager() -> None:
    mona = manager("mona")
    omer = manager("omer")
    change_person(mona, omer, role=VIEWER, is_active=True)

    # Had mona been switched off meanwhile (say, in the admin), omer's move would leave none.
    User.objects.filter(pk=mona.pk).update(is_active=False)
    set_user_role(omer, MANAGER)
    with pytest.raises(PersonChangeRefused, match="last manager"):
        change_person(mona, omer, role=VIEWER, is_active=True)
    with pytest.raises(PersonChangeRefused, match="last manager"):
        change_person(mona, omer, role=MANAGER, is_active=False)
    omer = User.objects.get(pk=omer.pk)
    assert user_role(omer) == MANAGER


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
def test_two_managers_demoting_each_other_at_once_leave_one_manager() -> None:
    mona, omer = manager("mona"), manager("omer")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(by: User, person: User) -> None:
        try:
            barrier.wait(timeout=30)
            change_person(by, person, role=VIEWER, is_active=True)
            outcomes.append("done")
        except PersonChangeRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=demote, args=(mona, omer)),
        threading.Thread(target=demote, args=(omer, mona)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["done", "refused"]
    managers = [u for u in User.objects.all() if user_role(u) == MANAGER]
    assert len(managers) == 1
