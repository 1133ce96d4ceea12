"""Passwords (issue 15, item 10): a manager sets a temporary one, the person must change it
at next sign-in, and people change their own."""

import logging

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from leads.models import PasswordChangeRequired
from leads.roles import MANAGER, REP, VIEWER
from tests.factories import make_api_key
from tests.people import person, signed_in

pytestmark = pytest.mark.django_db

OWN = "/account/password/"
TEMPORARY = "Temporary-Tulip-42"
CHOSEN = "Dana-Chooses-Her-Own-7"


def reset_url(user: User) -> str:
    return reverse("leads:user-password", args=[user.pk])


def reset(client: Client, user: User, password: str = TEMPORARY, again: str | None = None):
    data = {"new_password1": password, "new_password2": again or password}
    return client.post(reset_url(user), data, follow=True)


def sign_in(username: str, password: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": password})
    assert response.status_code == 302, response.content[:300]
    return client


@pytest.fixture
def mona() -> User:
    return person("mona", MANAGER)


@pytest.fixture
def dana() -> User:
    return person("dana", REP)


def test_a_manager_sets_a_temporary_password_and_every_session_of_the_person_ends(
    mona: User, dana: User, caplog
) -> None:
    on_her_phone = sign_in("dana", "pw")
    assert on_her_phone.get("/leads/").status_code == 200
    caplog.set_level(logging.INFO, logger="leads.passwords")

    response = reset(signed_in(mona), dana)

    assert "dana has a temporary password now" in response.text
    dana.refresh_from_db()
    assert dana.check_password(TEMPORARY)
    assert PasswordChangeRequired.objects.get(user=dana).set_by == mona
    assert on_her_phone.get("/leads/")["Location"].startswith("/login/")
    assert "mona set a temporary password for dana" in caplog.text
    assert TEMPORARY not in caplog.text


def test_with_a_temporary_password_every_page_leads_to_the_change_page(
    mona: User, dana: User
) -> None:
    reset(signed_in(mona), dana)
    client = sign_in("dana", TEMPORARY)

    for url in ("/leads/", "/leads/board/", "/activity/", "/custom-groups/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"{OWN}?next={url.replace('/', '%2F')}"
    htmx = client.get("/leads/", headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == OWN
    assert client.post("/leads/bulk/", {"action": "status"})["Location"].startswith(OWN)
    page = client.get(OWN)
    assert page.status_code == 200 and "A manager set a temporary password for you" in page.text
    assert 'name="old_password"' not in page.text  # typed a moment ago to sign in


def test_api_keys_are_not_held_up_by_a_temporary_password(mona: User, dana: User, api) -> None:
    reset(signed_in(mona), dana)
    assert api.get("/api/v2/leads").status_code == 200


def test_signing_out_still_works_with_a_temporary_password(mona: User, dana: User) -> None:
    reset(signed_in(mona), dana)
    client = sign_in("dana", TEMPORARY)
    assert client.post("/logout/")["Location"] == "/login/"


def test_choosing_a_password_ends_the_mark_keeps_this_session_and_ends_the_others(
    mona: User, dana: User
) -> None:
    reset(signed_in(mona), dana)
    laptop, phone = sign_in("dana", TEMPORARY), sign_in("dana", TEMPORARY)

    response = laptop.post(
        OWN, {"new_password1": CHOSEN, "new_password2": CHOSEN, "next": "/leads/board/"}
    )

    assert response["Location"] == "/leads/board/"
    dana.refresh_from_db()
    assert dana.check_password(CHOSEN)
    assert not PasswordChangeRequired.objects.exists()
    assert laptop.get("/leads/").status_code == 200
    assert phone.get("/leads/")["Location"].startswith("/login/")
    assert sign_in("dana", CHOSEN).get("/leads/").status_code == 200  # no longer sent to change


@pytest.mark.parametrize(
    ("new", "again", "says"),
    [
        (TEMPORARY, TEMPORARY, "not the temporary one"),
        ("password", "password", "This password is too common."),
        ("12345678901", "12345678901", "This password is entirely numeric."),
        (CHOSEN, CHOSEN + "x", "The two password fields didn"),
    ],
)
def test_a_forced_change_refuses_weak_mismatched_or_unchanged_passwords(
    mona: User, dana: User, new: str, again: str, says: str
) -> None:
    reset(signed_in(mona), dana)
    client = sign_in("dana", TEMPORARY)

    response = client.post(OWN, {"new_password1": new, "new_password2": again})

    assert response.status_code == 400
    assert says in response.text
    dana.refresh_from_db()
    assert dana.check_password(TEMPORARY)
    assert client.get("/leads/")["Location"].startswith(OWN)


def test_people_change_their_own_password_with_the_current_one(dana: User) -> None:
    client, other = sign_in("dana", "pw"), sign_in("dana", "pw")
    page = client.get(OWN).text
    assert 'name="old_password"' in page and "Change your password" in page

    response = client.post(
        OWN, {"old_password": "pw", "new_password1": CHOSEN, "new_password2": CHOSEN}, follow=True
    )

    assert "Your password is changed" in response.text
    dana.refresh_from_db()
    assert dana.check_password(CHOSEN)
    assert client.get("/leads/").status_code == 200
    assert other.get("/leads/")["Location"].startswith("/login/")


def test_a_wrong_current_password_changes_nothing_and_guesses_are_throttled(dana: User) -> None:
    client = sign_in("dana", "pw")
    guess = {"new_password1": CHOSEN, "new_password2": CHOSEN}

    wrong = client.post(OWN, {"old_password": "nope", **guess})
    assert wrong.status_code == 400 and "Your old password was entered incorrectly" in wrong.text
    for _ in range(4):
        client.post(OWN, {"old_password": "nope", **guess})
    locked = client.post(OWN, {"old_password": "pw", **guess})  # even the right one, now

    assert locked.status_code == 400
    assert "Too many failed sign-ins for this account" in locked.text
    dana.refresh_from_db()
    assert dana.check_password("pw")


# --- who may set whose password -------------------------------------------------------------


@pytest.mark.parametrize("role", [VIEWER, REP])
def test_only_managers_set_someone_elses_password(role: str, dana: User) -> None:
    client = signed_in(person("pat", role))
    assert client.get(reset_url(dana)).status_code == 403
    assert (
        client.post(
            reset_url(dana), {"new_password1": TEMPORARY, "new_password2": TEMPORARY}
        ).status_code
        == 403
    )
    dana.refresh_from_db()
    assert dana.check_password("pw") and not PasswordChangeRequired.objects.exists()


def test_a_manager_does_not_set_their_own_password_here(mona: User) -> None:
    response = signed_in(mona).post(
        reset_url(mona), {"new_password1": TEMPORARY, "new_password2": TEMPORARY}
    )
    assert response.status_code == 403
    assert "Change your own password on your password page" in response.text
    mona.refresh_from_db()
    assert mona.check_password("pw")


def test_only_a_superuser_sets_a_superusers_password(mona: User) -> None:
    boss = User.objects.create_superuser("boss", password="pw")
    root = User.objects.create_superuser("root", password="pw")
    assert "Set a temporary password for boss" not in signed_in(mona).get("/settings/users/").text

    refused = signed_in(mona).post(
        reset_url(boss), {"new_password1": TEMPORARY, "new_password2": TEMPORARY}
    )
    assert refused.status_code == 403 and "only a superuser can change them" in refused.text
    boss.refresh_from_db()
    assert boss.check_password("pw")

    reset(signed_in(root), boss)
    boss.refresh_from_db()
    assert boss.check_password(TEMPORARY)


def test_a_temporary_password_meets_the_validators_too(mona: User, dana: User) -> None:
    client = signed_in(mona)
    assert "This password is too short" in reset(client, dana, "short1!").text
    assert "didn’t match" in reset(client, dana, TEMPORARY, TEMPORARY + "x").text
    dana.refresh_from_db()
    assert dana.check_password("pw") and not PasswordChangeRequired.objects.exists()


def test_an_unknown_person_is_a_404(mona: User) -> None:
    assert signed_in(mona).get("/settings/users/999999/password/").status_code == 404


def test_the_users_page_links_to_setting_each_persons_password(mona: User, dana: User) -> None:
    page = signed_in(mona).get("/settings/users/").text
    assert f'href="{reset_url(dana)}" aria-label="Set a temporary password for dana"' in page
    assert f'href="{reset_url(mona)}"' not in page  # their own is changed on their page
    assert f'href="{OWN}">change your password</a>' in page


def test_password_forms_need_their_csrf_token(mona: User, dana: User) -> None:
    client = signed_in(mona, enforce_csrf_checks=True)
    data = {"new_password1": TEMPORARY, "new_password2": TEMPORARY}
    assert client.post(reset_url(dana), data).status_code == 403
    assert client.post(OWN, {"old_password": "pw", **data}).status_code == 403
    dana.refresh_from_db()
    mona.refresh_from_db()
    assert dana.check_password("pw") and mona.check_password("pw")


def test_signed_out_people_are_sent_to_sign_in(db: None) -> None:
    assert Client().get(OWN)["Location"].startswith("/login/")


def test_an_api_key_is_no_way_into_the_password_pages(dana: User) -> None:
    _, raw = make_api_key()
    assert Client(headers={"X-API-Key": raw}).get(OWN)["Location"].startswith("/login/")
