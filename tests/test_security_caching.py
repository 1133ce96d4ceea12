"""Signed-in pages and exports are never stored by a browser or a proxy (issue 12).

They carry full phone numbers and names; a shared computer's back button, disk cache or a
caching proxy must not keep them after the person signs out.
"""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from leads.roles import MANAGER, set_user_role
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager() -> Client:
    user = User.objects.create_user("mona", password="pw")
    set_user_role(user, MANAGER)
    client = Client()
    client.force_login(user)
    return client


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.parametrize(
    "path",
    [
        "/leads/",
        "/leads/board/",
        "/leads/export/csv/",
        "/leads/export/json/",
        "/activity/",
        "/settings/users/",
        "/settings/api-keys/",
        "/settings/groups/",
        "/settings/wall/",
    ],
)
def test_signed_in_pages_and_exports_say_no_store(manager, path) -> None:
    make_lead(phone="+972521234567")

    response = manager.get(path)

    assert response.status_code == 200, path
    assert no_store(response), (path, response.get("Cache-Control"))


def test_a_lead_page_and_its_htmx_region_say_no_store(manager) -> None:
    lead = make_lead(phone="+972521234567")
    url = reverse("leads:detail", args=[lead.id])

    assert no_store(manager.get(url))
    assert no_store(manager.get(reverse("leads:table"), headers={"HX-Request": "true"}))


def test_api_answers_with_phone_numbers_say_no_store(api) -> None:
    make_lead(phone="+972521234567")

    for path in ("/api/v2/leads", "/api/v2/leads/export/csv", "/api/v2/leads/export/json"):
        response = api.get(path)
        assert response.status_code == 200, path
        assert no_store(response), path


def test_public_static_files_stay_cacheable() -> None:
    response = Client().get("/static/css/app.css")
    assert not no_store(response)
