"""Dashboard exports are named after their filter and day (issue 15, item 11)."""

from datetime import date

import pytest
from django.test import Client

from leads.filters import TableState
from leads.roles import MANAGER, set_user_role
from leads.views.exports import export_name
from tests.factories import make_lead

DAY = date(2026, 12, 2)


def test_an_unfiltered_export_is_named_after_the_day() -> None:
    assert export_name(TableState(), DAY) == "leads-2026-12-02"


def test_an_export_names_its_status_search_and_dates() -> None:
    state = TableState(q="3-Bedroom price", status="new", detected_from=date(2026, 11, 1))
    assert export_name(state, DAY) == "leads-new-3-bedroom-price-from-2026-11-01-2026-12-02"


def test_a_hebrew_search_stays_readable() -> None:
    assert export_name(TableState(q="מחיר"), DAY) == "leads-מחיר-2026-12-02"


@pytest.mark.django_db
def test_the_download_carries_the_name(client: Client, django_user_model: type) -> None:
    maya = django_user_model.objects.create_user("maya", password="pw")
    set_user_role(maya, MANAGER)
    client.force_login(maya)
    make_lead(status="contacted")
    response = client.get("/leads/export/csv/", {"status": "contacted"})
    assert response.status_code == 200
    assert "leads-contacted-" in response["Content-Disposition"]
    assert response["Content-Disposition"].endswith('.csv"')
