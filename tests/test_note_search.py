"""The table's search finds leads by what the team wrote in their notes (issue 16).

The mirror API's `search` stays what CONTRACT §1 says (name, phone, keyword): notes are ours.
"""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from leads.assignments import lead_add_note
from leads.roles import MANAGER, set_user_role
from tests.factories import make_api_key, make_group, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def mona_user() -> User:
    user = User.objects.create_user("mona", password="pw")
    set_user_role(user, MANAGER)
    return user


@pytest.fixture
def mona(mona_user: User) -> Client:
    client = Client()
    client.force_login(mona_user)
    return client


def test_a_word_from_a_note_finds_its_lead_on_the_table(mona: Client, mona_user: User) -> None:
    group = make_group()
    noted = make_lead(group, name="Dana Levi")
    make_lead(group, name="Avi Cohen")
    lead_add_note(noted.id, "Wants the blue SOFA, call back Tuesday", by=mona_user)

    response = mona.get("/leads/", {"q": "sofa"})

    assert [row.id for row in response.context["rows"]] == [noted.id]
    assert response.context["matching_count"] == 1


def test_the_note_search_still_finds_leads_by_their_own_text(mona: Client, mona_user: User) -> None:
    group = make_group()
    by_name = make_lead(group, name="Sofa King")
    by_note = make_lead(group, name="Dana Levi")
    lead_add_note(by_note.id, "asked about a sofa", by=mona_user)
    make_lead(group, name="Avi Cohen")

    response = mona.get("/leads/", {"q": "SOFA"})

    assert {row.id for row in response.context["rows"]} == {by_name.id, by_note.id}


def test_the_api_search_does_not_read_notes(mona_user: User) -> None:
    lead = make_lead(name="Dana Levi")
    lead_add_note(lead.id, "wants a sofa", by=mona_user)
    _, raw_key = make_api_key(["leads:read"])

    response = Client(headers={"X-API-Key": raw_key}).get("/api/v2/leads", {"search": "sofa"})

    assert response.json()["total"] == 0


def test_the_board_search_finds_leads_by_their_notes_too(mona: Client, mona_user: User) -> None:
    group = make_group()
    noted = make_lead(group, name="Dana Levi", status="contacted")
    other = make_lead(group, name="Avi Cohen", status="contacted")
    lead_add_note(noted.id, "Wants the blue SOFA", by=mona_user)

    body = mona.get("/leads/board/", {"q": "sofa"}).content.decode()

    assert f'id="card-{noted.id}"' in body
    assert f'id="card-{other.id}"' not in body
