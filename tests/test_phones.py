"""Phone numbers: stored E.164, shown in each country's format, found however they are typed."""

import pytest
from django.test import Client

from leads.phones import format_phone, mask_phone, normalise_phone, search_needle
from leads.queries import leads_matching
from tests.factories import make_lead

GERMAN = "+4915112345678"
ISRAELI = "+972500000300"


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (GERMAN, "+49 1511 2345678"),
        ("+79161234567", "+7 916 123-45-67"),
        ("+447911123456", "+44 7911 123456"),
        (ISRAELI, "+972 50-000-0300"),
        ("+15550123456", "+1 555-012-3456"),
    ],
)
def test_it_shows_each_country_in_its_own_international_format(stored: str, shown: str) -> None:
    assert format_phone(stored) == shown


def test_it_shows_nothing_for_a_hidden_number_and_garbage_as_it_is() -> None:
    assert format_phone(None) == ""
    assert format_phone("not a number") == "not a number"


def test_it_masks_all_but_the_last_four_digits() -> None:
    assert mask_phone(GERMAN) == "•••• 5678"
    assert mask_phone(None) == "hidden number"


def test_it_stores_e164_from_any_international_spelling() -> None:
    assert normalise_phone("+972 52-123-4567") == "+972521234567"
    assert normalise_phone("0049 (151) 1234-5678") == GERMAN
    assert normalise_phone("+1 2") is None


def test_it_refuses_a_national_number_without_a_region(settings) -> None:
    settings.DEFAULT_PHONE_REGION = ""
    assert normalise_phone("050-000-0300") is None


def test_it_reads_a_national_number_in_the_default_region(settings) -> None:
    settings.DEFAULT_PHONE_REGION = "IL"
    assert normalise_phone("050-000-0300") == ISRAELI


def test_a_search_that_is_not_a_number_stays_casefolded_text() -> None:
    assert search_needle("  Dana LEVI ") == "dana levi"
    assert search_needle("3-bedroom") == "3-bedroom"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "typed",
    [
        "+972 50-000-0300",
        "+972 500 000 300",
        "972500000300",
        "+972 (50) 000.0300",
        "00972 50 000 0300",
        "050-000-0300",
        "(050) 000 0300",
        "000 0300",
    ],
)
def test_it_finds_a_lead_however_the_number_is_typed(settings, typed: str) -> None:
    settings.DEFAULT_PHONE_REGION = "IL"
    lead = make_lead(phone=ISRAELI, name="Omar")
    make_lead(phone=GERMAN, name="Jonas")
    assert list(leads_matching(search=typed)) == [lead]


@pytest.mark.django_db
def test_the_table_shows_and_finds_the_number_as_displayed(
    client: Client, django_user_model: type
) -> None:
    user = django_user_model.objects.create_user("dana", password="pw")
    client.force_login(user)
    make_lead(phone=GERMAN, name="Jonas")
    make_lead(phone=ISRAELI, name="Omar")
    page = client.get("/leads/", {"q": "+49 1511 2345678"}).content.decode()
    assert "+49 1511 2345678" in page
    assert "Jonas" in page and "Omar" not in page
