"""Intent leads on screen: the table sorts and filters by score, the lead page says why."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from leads.models import Lead
from tests.factories import make_group, make_lead

HTMX = {"HX-Request": "true"}


@pytest.fixture
def viewer_client(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_user("bob", password="pw"))
    return client


def scored(name: str, score: int, reasons: list[str]) -> Lead:
    lead = make_lead(make_group(mode="intent"), name=name, keyword=None)
    Lead.objects.filter(pk=lead.pk).update(
        lead_score=score, lead_reasons=reasons, monitor_mode="intent"
    )
    return lead


def names_in_order(html: str, names: list[str]) -> list[str]:
    return sorted(names, key=html.index)


def test_it_sorts_by_score_highest_first(viewer_client: Client) -> None:
    scored("Low Buyer", 60, ["wants to buy"])
    scored("High Buyer", 90, ["asks for a price", "wants to buy"])
    make_lead(name="Keyword Person")
    html = viewer_client.get("/leads/?sort=-score").content.decode()
    assert names_in_order(html, ["Low Buyer", "High Buyer", "Keyword Person"]) == [
        "High Buyer",
        "Low Buyer",
        "Keyword Person",
    ]
    # The Score heading's first click asks for the highest scores first.
    assert "sort=-score" in viewer_client.get("/leads/").content.decode()


def test_it_filters_by_a_minimum_score(viewer_client: Client) -> None:
    scored("Low Buyer", 60, ["wants to buy"])
    scored("High Buyer", 90, ["asks for a price"])
    make_lead(name="Keyword Person")
    for headers in ({}, HTMX):
        html = viewer_client.get("/leads/?min_score=70", headers=headers).content.decode()
        assert "High Buyer" in html
        assert "Low Buyer" not in html
        assert "Keyword Person" not in html


def test_a_bad_minimum_score_is_shown_not_a_500(viewer_client: Client) -> None:
    scored("Low Buyer", 60, ["wants to buy"])
    for value in ("abc", "101", "-5"):
        response = viewer_client.get(f"/leads/?min_score={value}")
        assert response.status_code == 200
        assert "Low Buyer" in response.content.decode()


def test_the_lead_page_shows_the_score_and_its_reasons(viewer_client: Client) -> None:
    lead = scored("Dana", 80, ["asks for a price", "mentions “<b>sofa</b>”"])
    html = viewer_client.get(f"/leads/{lead.pk}/").content.decode()
    assert "80</strong>/100" in html
    assert "asks for a price" in html
    # The keyword inside a reason was typed by a person: escaped.
    assert "&lt;b&gt;sofa&lt;/b&gt;" in html


def test_a_keyword_lead_shows_no_score(viewer_client: Client) -> None:
    lead = make_lead(name="Dana")
    assert "Purchase intent" not in viewer_client.get(f"/leads/{lead.pk}/").content.decode()
