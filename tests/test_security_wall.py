"""The wall hides phone numbers wherever they hide (issue 12).

A contact's name is whatever their WhatsApp profile says, and people put their number there
(`+972-52-123-4567 (Dana)`, `0521234567/Dana`); group names and keywords are typed by people
too. Unless a link shows phones, no run of six or more digits reaches the screen.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse

from leads.models import WallLink
from leads.wall import mask_numbers
from tests.factories import make_group, make_lead

pytestmark = pytest.mark.django_db

NUMBER_NAMES = [
    "+972-52-123-4567 (Dana)",
    "0521234567/Dana",
    "Dana 052 123 4567",
    "Dana (052) 123-4567",
    "Dana+972521234567",
    "Dana ٠٥٢١٢٣٤٥٦٧",  # Arabic-Indic digits are digits too
]


def six_digit_runs(text: str) -> list[str]:
    """Every run of digits (allowing spaces, dashes, brackets and dots) with 6 or more."""
    runs = re.findall(r"\d[\d\s().\-]*\d", text)
    return [run for run in runs if len(re.sub(r"\D", "", run)) >= 6]


def wall_text(token: str) -> str:
    """The wall's page and snapshot, without the live ticket (a signed, dated token, no data)
    and without the link's own token in its URLs: both are random, and now and then one of
    them holds six digits in a row."""
    client = Client()
    pages = [reverse("leads:wall", args=[token]), reverse("leads:wall-snapshot", args=[token])]
    text = "".join(client.get(page).text for page in pages).replace(token, "<token>")
    return re.sub(r'data-ticket="[^"]*"', 'data-ticket=""', text)


@pytest.mark.parametrize("full_names", [False, True])
@pytest.mark.parametrize("name", NUMBER_NAMES)
def test_a_number_inside_a_name_is_masked_unless_the_link_shows_phones(name, full_names) -> None:
    _, token = WallLink.issue("Floor", show_full_names=full_names)
    make_lead(name=name, phone="+15550001111")

    body = wall_text(token)

    assert "Dana" in body or not full_names
    if full_names or name[0] in "+0":  # the number is in what is shown: its last four, masked
        assert "•••• 4567" in body or "•••• ٤٥٦٧" in body
    assert not six_digit_runs(body.replace("1111", "")), six_digit_runs(body)


def test_numbers_in_group_names_and_keywords_are_masked_too() -> None:
    _, token = WallLink.issue("Floor")
    group = make_group(name="Call 03-555-1234 Tel Aviv flats")
    make_lead(group, name="Dana", keyword="054 7654321")

    body = wall_text(token)

    assert "Tel Aviv flats" in body
    assert not six_digit_runs(body), six_digit_runs(body)


def test_a_link_that_shows_phones_shows_names_as_written() -> None:
    _, token = WallLink.issue("Back office", show_full_names=True, show_phones=True)
    make_lead(name="0521234567/Dana")

    assert "0521234567/Dana" in wall_text(token)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("3 rooms, 2 baths", "3 rooms, 2 baths"),
        ("budget 12345", "budget 12345"),
        ("call +1 (555) 012-3456 now", "call •••• 3456 now"),
        ("a 123-456 b", "a •••• 3456 b"),
    ],
)
def test_mask_numbers(text: str, shown: str) -> None:
    assert mask_numbers(text) == shown
