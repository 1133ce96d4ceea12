"""`/settings/auto-assign/`: managers choose, per monitored group, who gets its new leads."""

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from leads.assignments import assignable_users
from leads.auto_assign import rules_by_group, set_rule
from leads.roles import MANAGER, role_required
from leads.sources import get_source
from leads.sources.errors import SourceError


@require_http_methods(["GET", "POST"])
@role_required(MANAGER)
def auto_assign_page(request: HttpRequest) -> HttpResponse:
    """GET: every group with its chosen reps. POST: one group's new choice (none: off)."""
    try:
        groups = get_source().list_groups()
    except SourceError as error:
        messages.error(request, f"Groups could not be loaded: {error.detail}")
        groups = ()
    if request.method == "POST":
        try:
            group_id = uuid.UUID(request.POST.get("group", ""))
            wanted = {int(raw) for raw in request.POST.getlist("reps")}
        except ValueError:
            return HttpResponseBadRequest("That is not a group or a person.")
        if group_id not in {group.id for group in groups}:
            return HttpResponseBadRequest("That group is not monitored.")
        reps = list(assignable_users().filter(pk__in=wanted))
        if len(reps) != len(wanted):
            return HttpResponseBadRequest("Leads can be assigned to active reps and managers only.")
        set_rule(group_id, reps)
        name = next(group.name for group in groups if group.id == group_id)
        if reps:
            messages.success(request, f"New leads of “{name}” now go to {len(reps)} in turn.")
        else:
            messages.success(
                request, f"New leads of “{name}” are no longer assigned automatically."
            )
        return redirect("leads:auto-assign")
    chosen = rules_by_group()
    people = list(assignable_users())
    rows = [{"group": group, "chosen": set(chosen.get(group.id, ()))} for group in groups]
    return render(request, "leads/auto_assign.html", {"rows": rows, "people": people})
