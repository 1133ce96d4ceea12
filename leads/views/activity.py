"""`/activity/`: the team's recent status changes — who moved which lead, when, how.

Read from the store's status history (`LeadStatusChange`), which records every change made
through this deployment: people, API keys, webhooks, imports, the MoltFlow sync and the
system. (With `LEADS_SOURCE=moltflow`, changes made directly in MoltFlow by other clients
appear only once the sync or a webhook has mirrored them.) Above it, the leads whose MoltFlow
status the sync would not copy (`SyncConflict`), until a person settles them.

A bulk change is one entry ("dana moved 1,246 leads to contacted") that opens on the first
few leads it moved; `?batch=<id>` lists all of them, paged like the rest.
"""

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from leads.assignments import owners_of
from leads.filters import check_day
from leads.models import STATUS_CHOICES, ActorKind, LeadStatusChange, SyncConflict
from leads.roles import VIEWER, role_required
from leads.views.rendering import render_region

REGIONS = ("activity-results",)
PAGE_SIZE = 50
# Sync conflicts wait for a person; the newest are listed above the history.
CONFLICTS_SHOWN = 20
# The leads a bulk entry lists when opened; the rest are a link away (`?batch=`).
BATCH_SHOWN = 20


class ActivityFilter(forms.Form):
    kind = forms.ChoiceField(
        label="Made by", required=False, choices=[("", "Anyone"), *ActorKind.choices]
    )
    user = forms.ModelChoiceField(
        label="Person",
        required=False,
        queryset=get_user_model().objects.order_by("username"),
        empty_label="Any person",
    )
    status = forms.ChoiceField(
        label="Moved to", required=False, choices=[("", "Any status"), *STATUS_CHOICES]
    )
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    batch = forms.UUIDField(required=False, widget=forms.HiddenInput)


def _start_of(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _changes(form: ActivityFilter) -> QuerySet[LeadStatusChange]:
    changes = LeadStatusChange.objects.select_related(
        "lead__source_group", "user", "api_key"
    ).order_by("-changed_at", "-id")
    if not form.is_valid():
        return changes.filter(batch_size__gt=0)
    data = form.cleaned_data
    # One entry per bulk change (its first row), unless the page lists one bulk change.
    changes = (
        changes.filter(batch=data["batch"]) if data["batch"] else changes.filter(batch_size__gt=0)
    )
    if data["kind"]:
        changes = changes.filter(actor_kind=data["kind"])
    if data["user"]:
        changes = changes.filter(user=data["user"])
    if data["status"]:
        changes = changes.filter(to_status=data["status"])
    check_day("From", data["date_from"])
    check_day("To", data["date_to"])
    if data["date_from"]:
        changes = changes.filter(changed_at__gte=_start_of(data["date_from"]))
    if data["date_to"]:
        # The whole "to" day is included.
        changes = changes.filter(changed_at__lt=_start_of(data["date_to"] + timedelta(days=1)))
    return changes


def _batch_members(batches: list[Any]) -> dict[Any, list[LeadStatusChange]]:
    """The first `BATCH_SHOWN` changes of each bulk change, in one query for the page."""
    members: dict[Any, list[LeadStatusChange]] = {batch: [] for batch in batches}
    if batches:
        first = Window(RowNumber(), partition_by=F("batch"), order_by=F("id").asc())
        rows = (
            LeadStatusChange.objects.filter(batch__in=batches)
            .annotate(position=first)
            .filter(position__lte=BATCH_SHOWN)
            .select_related("lead")
            .order_by("batch", "position")
        )
        for change in rows:
            members[change.batch].append(change)
    return members


@require_GET
@role_required(VIEWER)
def activity_page(request: HttpRequest) -> HttpResponse:
    """The filtered history, newest first, 50 per page; `activity-results` for htmx."""
    form = ActivityFilter(request.GET)
    page = Paginator(_changes(form), PAGE_SIZE).get_page(request.GET.get("page"))
    # Who owns each lead now (kept beside the leads): one query for the page.
    owners = owners_of(change.lead_id for change in page)
    # A bulk entry opens on its leads; a page of one bulk change lists them as rows instead.
    one_batch = form.is_valid() and form.cleaned_data["batch"]
    heads = [] if one_batch else [change.batch for change in page if change.batch_size > 1]
    moved = _batch_members(heads)
    rows = [(change, owners.get(change.lead_id), moved.get(change.batch, ())) for change in page]
    conflicts = SyncConflict.objects.select_related("lead").order_by("-last_seen_at", "-id")
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "conflicts": conflicts[:CONFLICTS_SHOWN],
        "conflict_count": conflicts.count(),
    }
    return render_region(request, "leads/activity.html", context, regions=REGIONS)
