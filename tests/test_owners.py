"""Owners and notes: taking a lead, assigning it, refusals that say who and when, the timeline.

Personas: a viewer, two reps (Rick and Rita) and a manager (Mona).
"""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from leads import assignments
from leads.assignments import OwnerChanged
from leads.models import LeadAssignment, LeadTimelineEntry, TimelineKind
from leads.roles import VIEWER
from leads.services import Actor, lead_change_status
from tests.factories import make_lead
from tests.people import person, signed_in

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Target": "lead-panel"}


# --- The service ----------------------------------------------------------------------------


def test_a_rep_takes_an_unassigned_lead(rick: User) -> None:
    lead = make_lead()
    owner = assignments.lead_take(lead.id, rick)
    assert owner.user_id == rick.pk
    assert assignments.owner_of(lead.id) == owner
    entry = LeadTimelineEntry.objects.get(lead_id=lead.id)
    assert (entry.kind, entry.text, entry.actor_label) == (TimelineKind.ASSIGNED, "took it", "Rick")


def test_taking_a_lead_someone_took_a_moment_ago_is_refused_with_who_and_when(
    rick: User, rita: User
) -> None:
    lead = make_lead()
    taken_at = timezone.now() - timedelta(seconds=30)
    assignments.lead_take(lead.id, rita, now=taken_at)
    with pytest.raises(OwnerChanged) as refused:
        assignments.lead_take(lead.id, rick)
    assert refused.value.owner is not None
    assert (refused.value.owner.label, refused.value.owner.since) == ("Rita", taken_at)
    assert LeadAssignment.objects.get(lead_id=lead.id).owner == rita


def test_taking_your_own_lead_again_is_not_an_error_and_logs_nothing(rick: User) -> None:
    lead = make_lead()
    assignments.lead_take(lead.id, rick)
    assignments.lead_take(lead.id, rick)
    assert LeadTimelineEntry.objects.filter(lead_id=lead.id).count() == 1


def test_an_assignment_over_an_owner_the_caller_did_not_see_is_refused(
    rick: User, rita: User, mona: User
) -> None:
    lead = make_lead()
    assignments.lead_take(lead.id, rita)
    with pytest.raises(OwnerChanged):
        # Mona's screen still showed the lead unassigned.
        assignments.lead_assign(lead.id, rick, mona, expected_owner_id=None)
    assignments.lead_assign(lead.id, rick, mona, expected_owner_id=rita.pk)
    assert assignments.owner_of(lead.id).user_id == rick.pk  # type: ignore[union-attr]


def test_unassigning_removes_the_owner_and_says_so(rita: User, mona: User) -> None:
    lead = make_lead()
    assignments.lead_take(lead.id, rita)
    assert assignments.lead_assign(lead.id, None, mona, expected_owner_id=rita.pk) is None
    assert assignments.owner_of(lead.id) is None
    texts = list(LeadTimelineEntry.objects.filter(lead_id=lead.id).values_list("text", flat=True))
    assert "unassigned" in texts


def test_owners_are_kept_by_lead_id_so_a_lead_the_store_does_not_hold_can_be_owned(
    rick: User,
) -> None:
    moltflow_lead_id = uuid.uuid4()  # a MoltFlow lead: not in the local store at all
    assignments.lead_take(moltflow_lead_id, rick)
    assert assignments.owners_of([moltflow_lead_id])[moltflow_lead_id].label == "Rick"


def test_a_bulk_assignment_gives_every_lead_and_logs_only_real_changes(
    rick: User, rita: User, mona: User, django_assert_max_num_queries
) -> None:
    leads = [make_lead() for _ in range(5)]
    assignments.lead_take(leads[0].id, rick)
    with django_assert_max_num_queries(6):
        changed = assignments.lead_bulk_assign([lead.id for lead in leads], rick, mona)
    assert changed == 4
    assert set(assignments.owners_of(lead.id for lead in leads)) == {lead.id for lead in leads}
    assert assignments.lead_bulk_assign([leads[0].id, leads[1].id], rita, mona) == 2
    assert assignments.owners_of([leads[1].id])[leads[1].id].user_id == rita.pk


def test_a_note_needs_text_and_keeps_it_as_written(rick: User) -> None:
    lead = make_lead()
    with pytest.raises(ValueError):
        assignments.lead_add_note(lead.id, "   ", rick)
    note = assignments.lead_add_note(lead.id, "  Wants <b>3 rooms</b>  ", rick)
    assert note.text == "Wants <b>3 rooms</b>"


# --- The views ------------------------------------------------------------------------------


def take_url(lead_id: uuid.UUID) -> str:
    return reverse("leads:take", args=[lead_id])


def test_take_it_makes_the_rep_the_owner_and_the_panel_says_so(rick: User) -> None:
    lead = make_lead()
    response = signed_in(rick).post(take_url(lead.id), headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="lead-owner"><span dir="auto">Rick</span>' in body
    assert "It is yours." in body
    assert 'id="take-it"' not in body  # no second "Take it" once owned


def test_take_it_after_someone_else_is_refused_naming_them(rick: User, rita: User) -> None:
    lead = make_lead()
    assignments.lead_take(lead.id, rita, now=timezone.now() - timedelta(minutes=2))
    response = signed_in(rick).post(take_url(lead.id), headers=HTMX)
    assert "Not taken: Rita took it 2 min ago." in response.content.decode()
    assert assignments.owner_of(lead.id).user_id == rita.pk  # type: ignore[union-attr]


def test_take_it_without_javascript_redirects_back_to_the_lead(rick: User) -> None:
    lead = make_lead()
    response = signed_in(rick).post(take_url(lead.id))
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:detail", args=[lead.id])


def test_a_viewer_cannot_take_a_lead(db: None) -> None:
    lead = make_lead()
    response = signed_in(person("vera", VIEWER)).post(take_url(lead.id))
    assert response.status_code == 403
    assert assignments.owner_of(lead.id) is None


def test_taking_an_unknown_lead_is_a_404(rick: User) -> None:
    assert signed_in(rick).post(take_url(uuid.uuid4())).status_code == 404


def test_a_rep_cannot_assign_a_lead_to_someone(rick: User, rita: User) -> None:
    lead = make_lead()
    url = reverse("leads:assign", args=[lead.id])
    response = signed_in(rick).post(url, {"owner": rita.pk, "expected_owner": ""})
    assert response.status_code == 403
    assert assignments.owner_of(lead.id) is None


def test_a_manager_assigns_a_lead_to_a_rep(mona: User, rita: User) -> None:
    lead = make_lead()
    url = reverse("leads:assign", args=[lead.id])
    response = signed_in(mona).post(url, {"owner": rita.pk, "expected_owner": ""}, headers=HTMX)
    assert "Assigned to Rita." in response.content.decode()
    assert assignments.owner_of(lead.id).user_id == rita.pk  # type: ignore[union-attr]


@pytest.mark.parametrize("owner", ["abc", "999999"])
def test_assigning_to_someone_who_is_not_a_rep_is_a_400(mona: User, owner: str) -> None:
    lead = make_lead()
    url = reverse("leads:assign", args=[lead.id])
    assert signed_in(mona).post(url, {"owner": owner}).status_code == 400


def test_a_viewer_cannot_be_given_leads(mona: User) -> None:
    lead = make_lead()
    vera = person("vera", VIEWER)
    url = reverse("leads:assign", args=[lead.id])
    assert signed_in(mona).post(url, {"owner": vera.pk}).status_code == 400


def test_a_note_shows_on_the_timeline_escaped_newest_first(rick: User) -> None:
    lead = make_lead()
    lead_change_status(lead.id, "contacted", Actor(kind="user", label="rick"))
    client = signed_in(rick)
    url = reverse("leads:note", args=[lead.id])
    client.post(url, {"text": "<script>alert(1)</script> wants a call"}, headers=HTMX)
    body = client.get(reverse("leads:detail", args=[lead.id])).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; wants a call" in body
    assert "<script>alert(1)" not in body
    assert body.index("wants a call") < body.index("moved it from new → contacted")


def test_a_viewer_cannot_write_notes_and_sees_no_note_form(db: None) -> None:
    lead = make_lead()
    client = signed_in(person("vera", VIEWER))
    assert client.post(reverse("leads:note", args=[lead.id]), {"text": "hi"}).status_code == 403
    page = client.get(reverse("leads:detail", args=[lead.id])).content.decode()
    assert 'id="note-text"' not in page
    assert not LeadTimelineEntry.objects.exists()
