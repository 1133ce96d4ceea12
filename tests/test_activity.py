"""`/activity/`: the team's recent status changes, filtered, paged and escaped."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads import services
from leads.models import LeadStatusChange
from leads.roles import VIEWER, set_user_role
from leads.views.activity import BATCH_SHOWN
from tests.factories import make_api_key, make_lead

pytestmark = pytest.mark.django_db

URL = reverse("leads:activity")


@pytest.fixture
def viewer() -> Client:
    user = User.objects.create_user("vera", password="pw")
    set_user_role(user, VIEWER)
    client = Client()
    client.force_login(user)
    return client


def user_actor(username: str) -> services.Actor:
    user = User.objects.get_or_create(username=username)[0]
    return services.Actor(kind="user", user_id=user.pk, label=username)


def test_it_lists_changes_newest_first_with_who_and_how(viewer) -> None:
    first, second = make_lead(name="First Lead"), make_lead(name="Second Lead")
    services.lead_change_status(first.id, "contacted", user_actor("dana"))
    key, _ = make_api_key()
    services.lead_change_status(
        second.id, "lost", services.Actor(kind="api_key", api_key_id=key.id, label="key")
    )
    body = viewer.get(URL).text
    assert body.index("Second Lead") < body.index("First Lead")
    assert "dana" in body and key.name in body and f"{key.prefix}…" in body
    assert "2 changes" in body


def test_it_filters_by_kind_person_status_and_day(viewer) -> None:
    a, b, c = make_lead(name="Avi"), make_lead(name="Bea"), make_lead(name="Cal")
    services.lead_change_status(a.id, "contacted", user_actor("dana"))
    services.lead_change_status(b.id, "lost", user_actor("omer"))
    services.lead_change_status(c.id, "contacted", services.Actor(kind="sync", label="sync"))
    LeadStatusChange.objects.filter(lead=c).update(changed_at=timezone.now() - timedelta(days=3))
    omer = User.objects.get(username="omer")
    today = timezone.localdate().isoformat()

    def names(**params: str) -> set[str]:
        body = viewer.get(URL, params).text
        return {name for name in ("Avi", "Bea", "Cal") if f">{name}</a>" in body}

    assert names(kind="user") == {"Avi", "Bea"}
    assert names(user=str(omer.pk)) == {"Bea"}
    assert names(status="contacted") == {"Avi", "Cal"}
    assert names(date_from=today) == {"Avi", "Bea"}
    assert names(date_to=(timezone.localdate() - timedelta(days=1)).isoformat()) == {"Cal"}


def test_it_pages_by_fifty_keeping_the_filters(viewer) -> None:
    for _ in range(60):
        services.lead_change_status(make_lead().id, "lost", user_actor("dana"))
    first = viewer.get(URL, {"kind": "user"}).text
    assert "Page 1 of 2" in first
    assert 'href="?kind=user&amp;page=2"' in first
    assert "Page 2 of 2" in viewer.get(URL, {"kind": "user", "page": 2}).text


def test_an_htmx_request_gets_the_results_region_only(viewer) -> None:
    services.lead_change_status(make_lead().id, "lost", user_actor("dana"))
    response = viewer.get(URL, headers={"HX-Request": "true", "HX-Target": "activity-results"})
    assert response.text.lstrip().startswith('<div id="activity-results">')
    assert 'hx-trigger="leads-changed from:body"' in response.text
    assert response["Vary"] == "HX-Request" or "HX-Request" in response["Vary"]


def test_everything_people_wrote_is_escaped(viewer) -> None:
    lead = make_lead(name="<script>alert(1)</script>")
    services.lead_change_status(
        lead.id, "lost", user_actor("<b>eve</b>"), reason="<img src=x onerror=alert(1)>"
    )
    body = viewer.get(URL).text
    assert "<script>alert(1)" not in body and "<img src=x" not in body and "<b>eve</b>" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_a_bulk_change_is_one_entry_that_opens_on_the_leads_it_moved(viewer) -> None:
    leads = [make_lead(name=f"Bulk {n:02d}") for n in range(BATCH_SHOWN + 5)]
    single = make_lead(name="Single Sam")
    services.lead_change_status(single.id, "lost", user_actor("omer"))
    services.lead_bulk_change_status([lead.id for lead in leads], "contacted", user_actor("dana"))

    body = viewer.get(URL).text
    assert "2 changes" in body
    assert body.count('class="activity__bulk"') == 1
    assert re.search(r"<summary><span dir=\"auto\">dana</span> moved 25 leads to\s*<span", body)
    listed = re.findall(r">(Bulk \d\d)</a>", body)
    assert listed == [f"Bulk {n:02d}" for n in range(BATCH_SHOWN)]
    assert ">Single Sam</a>" in body

    batch = LeadStatusChange.objects.get(batch_size=25).batch
    assert f'href="{URL}?batch={batch}">All 25 leads of this change</a>' in body
    every = viewer.get(URL, {"batch": str(batch)}).text
    assert "25 changes" in every and "Single Sam" not in every
    assert len(re.findall(r">(Bulk \d\d)</a>", every)) == 25


def test_the_activity_page_reads_a_fixed_number_of_queries_whatever_the_bulk_entries(
    viewer, django_assert_max_num_queries
) -> None:
    for n in range(4):
        leads = [make_lead(name=f"Batch {n} lead {m}") for m in range(3)]
        services.lead_bulk_change_status(
            [lead.id for lead in leads], "contacted", user_actor("dana")
        )
    with django_assert_max_num_queries(12):
        body = viewer.get(URL).text
    assert body.count('class="activity__bulk"') == 4
