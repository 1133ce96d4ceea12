"""The sales work on one lead: take it, assign it, write a note, set a follow-up (POSTs).

Each answers an htmx request with the lead panel re-read as a fresh GET would draw it (so it
shows the truth whether the change went through or not), and a plain form post with a
redirect back to the lead.
"""

import uuid

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from leads import assignments
from leads.assignments import OwnerChanged, assignable_users
from leads.detection import clean_text
from leads.follow_ups import BadDueTime, lead_set_follow_up, parse_due
from leads.roles import MANAGER, REP, role_required
from leads.sources import get_source
from leads.views import detail
from leads.views.rendering import HtmxHttpRequest
from leads.waiting import short_age


def _refusal(refused: OwnerChanged, verb: str) -> str:
    owner = refused.owner
    if owner is None:
        return f"Not {verb}: nobody owns it any more (someone unassigned it). Look again."
    return f"Not {verb}: {owner.label} took it {short_age(owner.since)} ago."


def _answer(request: HtmxHttpRequest, lead_id: uuid.UUID, event: str = "") -> HttpResponse:
    if request.htmx:
        source = get_source()
        response = detail.render_lead(request, source, detail.load_lead(source, lead_id))
        return trigger_client_event(response, event, {"id": str(lead_id)}) if event else response
    next_url = detail.safe_next(request, request.POST.get("next"))
    return redirect(next_url) if next_url else redirect("leads:detail", lead_id)


def _optional_user_id(raw: str) -> int | None:
    """A user id from a form ("" is nobody); ValueError for anything else."""
    return int(raw) if raw else None


@role_required(REP)
@require_POST
def lead_take(request: HtmxHttpRequest, lead_id: uuid.UUID) -> HttpResponse:
    """ "Take it": the rep becomes the owner, unless someone else took it first."""
    detail.load_lead(get_source(), lead_id)  # 404 for a lead that does not exist
    try:
        assignments.lead_take(lead_id, request.user)
        messages.success(request, "It is yours.")
    except OwnerChanged as refused:
        messages.error(request, _refusal(refused, "taken"))
    return _answer(request, lead_id, "lead-owner-changed")


@role_required(MANAGER)
@require_POST
def lead_assign(request: HtmxHttpRequest, lead_id: uuid.UUID) -> HttpResponse:
    """A manager gives the lead to a rep (or to nobody), if its owner is still the one shown."""
    try:
        owner_id = _optional_user_id(request.POST.get("owner", ""))
        expected = _optional_user_id(request.POST.get("expected_owner", ""))
    except ValueError:
        return HttpResponseBadRequest("That is not a person.")
    owner = None
    if owner_id is not None:
        owner = assignable_users().filter(pk=owner_id).first()
        if owner is None:
            return HttpResponseBadRequest("Leads can be assigned to active reps and managers only.")
    detail.load_lead(get_source(), lead_id)
    try:
        assignments.lead_assign(lead_id, owner, request.user, expected_owner_id=expected)
        who = assignments.user_label(owner) if owner else "nobody"
        messages.success(request, f"Assigned to {who}.")
    except OwnerChanged as refused:
        messages.error(request, _refusal(refused, "assigned"))
    return _answer(request, lead_id, "lead-owner-changed")


@role_required(REP)
@require_POST
def lead_note(request: HtmxHttpRequest, lead_id: uuid.UUID) -> HttpResponse:
    """Add a plain-text note to the lead's timeline."""
    text = clean_text(request.POST.get("text", ""))
    detail.load_lead(get_source(), lead_id)
    try:
        assignments.lead_add_note(lead_id, text, request.user)
        messages.success(request, "Note added.")
    except ValueError as empty:
        messages.error(request, str(empty))
    return _answer(request, lead_id)


@role_required(REP)
@require_POST
def lead_follow_up(request: HtmxHttpRequest, lead_id: uuid.UUID) -> HttpResponse:
    """Set when to get back to the lead (`action=clear` removes it); from the page or a card."""
    detail.load_lead(get_source(), lead_id)
    try:
        due_at = None
        if request.POST.get("action") != "clear":
            due_at = parse_due(request.POST.get("due_at", ""))
        follow_up = lead_set_follow_up(lead_id, due_at, request.user)
        messages.success(request, "Follow-up set." if follow_up else "Follow-up cleared.")
    except BadDueTime as bad:
        messages.error(request, f"Follow-up not set: {bad}")
    return _answer(request, lead_id, "lead-follow-up-changed")
