"""`/custom-groups/`: the contact lists that leads are added to from the table's bulk bar.

Everyone signed in sees the lists and their members with their leads; managers create,
rename, delete, take members off and export (`leads.roles`: "custom_groups", "export").
Everything goes through the lead source, so the pages work the same over MoltFlow. A write
the source refused or could not make leaves a message and changes nothing; an unknown group
is a 404.
"""

import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leads.custom_groups import NAME_MAX, clean_group_name
from leads.exports import export_file_name, neutralise_cell, stream_csv, with_bom
from leads.phones import format_phone
from leads.roles import MANAGER, VIEWER, can, forbidden, role_required
from leads.sources import get_source
from leads.sources.base import LeadSource
from leads.sources.errors import NotFound, SourceError
from leads.sources.records import CustomGroupDetail, CustomGroupMemberRecord

# Members per page when the source looks each one's leads up freely (the local store).
PAGE_SIZE = 50
EXPORT_COLUMNS = ("contact_phone", "contact_name")


class GroupNameForm(forms.Form):
    name = forms.CharField(
        max_length=NAME_MAX, widget=forms.TextInput(attrs={"dir": "auto", "autocomplete": "off"})
    )

    def clean_name(self) -> str:
        name = clean_group_name(self.cleaned_data["name"])
        if not name:
            raise forms.ValidationError("A custom group needs a name.")
        return name


def _group(source: LeadSource, group_id: uuid.UUID) -> CustomGroupDetail:
    try:
        return source.get_custom_group(group_id)
    except NotFound:
        raise Http404("No such custom group.") from None


def _list_context(source: LeadSource, form: GroupNameForm | None = None) -> dict[str, Any]:
    return {"groups": source.list_custom_groups(), "form": form or GroupNameForm()}


@require_http_methods(["GET", "POST"])
@role_required(VIEWER)
def custom_groups_page(request: HttpRequest) -> HttpResponse:
    """GET: every custom group and its size. POST (managers): a new, empty group."""
    source = get_source()
    if request.method == "GET":
        return render(request, "leads/custom_groups.html", _list_context(source))
    if not can(request.user, "custom_groups"):
        return forbidden(request, MANAGER)
    form = GroupNameForm(request.POST)
    if form.is_valid():
        try:
            group = source.create_custom_group(form.cleaned_data["name"])
        except SourceError as error:
            form.add_error("name", error.detail)
        else:
            messages.success(request, f"Created {group.name}.")
            return redirect("leads:custom-group", custom_group_id=group.id)
    return render(request, "leads/custom_groups.html", _list_context(source, form), status=400)


@require_GET
@role_required(VIEWER)
def custom_group_page(request: HttpRequest, custom_group_id: uuid.UUID) -> HttpResponse:
    """One group: its members, a page at a time, each with the leads of that phone."""
    source = get_source()
    group = _group(source, custom_group_id)
    # A remote source looks each member's leads up with its own call: pages stay that small.
    per_page = source.capabilities().max_ids or PAGE_SIZE
    page = Paginator(group.members, per_page).get_page(request.GET.get("page"))
    members: list[CustomGroupMemberRecord] = list(page.object_list)
    leads = source.leads_of_contacts([member.phone for member in members])
    context = {
        "group": group,
        "page": page,
        "rows": [(member, leads.get(member.phone, ())) for member in members],
        "rename_form": GroupNameForm(initial={"name": group.name}),
    }
    return render(request, "leads/custom_group.html", context)


@require_POST
@role_required(MANAGER)
def custom_group_rename(request: HttpRequest, custom_group_id: uuid.UUID) -> HttpResponse:
    source = get_source()
    group = _group(source, custom_group_id)
    form = GroupNameForm(request.POST)
    if not form.is_valid():
        messages.error(request, str(form.errors["name"][0]))
    else:
        name = form.cleaned_data["name"]
        _apply(request, lambda: source.rename_custom_group(group.id, name), f"Renamed to {name}.")
    return redirect("leads:custom-group", custom_group_id=group.id)


@require_POST
@role_required(MANAGER)
def custom_group_remove_member(request: HttpRequest, custom_group_id: uuid.UUID) -> HttpResponse:
    source = get_source()
    group = _group(source, custom_group_id)
    phone = request.POST.get("phone", "")
    if phone not in {member.phone for member in group.members}:
        messages.error(request, f"That number is not in {group.name} (any more).")
    else:
        _apply(
            request,
            lambda: source.remove_custom_group_member(group.id, phone),
            f"Removed {format_phone(phone)} from {group.name}; their leads stay.",
        )
    back = reverse("leads:custom-group", kwargs={"custom_group_id": group.id})
    page = request.POST.get("page", "")
    return redirect(f"{back}?page={page}" if page.isdigit() else back)


@require_http_methods(["GET", "POST"])
@role_required(MANAGER)
def custom_group_delete(request: HttpRequest, custom_group_id: uuid.UUID) -> HttpResponse:
    """GET: the confirm step, saying what goes and what stays. POST: delete."""
    source = get_source()
    group = _group(source, custom_group_id)
    if request.method == "GET":
        return render(request, "leads/custom_group_delete.html", {"group": group})
    if _apply(request, lambda: source.delete_custom_group(group.id), f"Deleted {group.name}."):
        return redirect("leads:custom-groups")
    return redirect("leads:custom-group", custom_group_id=group.id)


@require_GET
@role_required(MANAGER)
def custom_group_export(request: HttpRequest, custom_group_id: uuid.UUID) -> StreamingHttpResponse:
    """The members as CSV (byte order mark, cells neutralised), named after the group."""
    group = _group(get_source(), custom_group_id)
    lines = stream_csv(group.members, cells=_member_cells, columns=EXPORT_COLUMNS)
    chunks = (line.encode() for line in lines)
    response = StreamingHttpResponse(with_bom(chunks), content_type="text/csv; charset=utf-8")
    name = export_file_name("custom-group", group.name)
    response["Content-Disposition"] = content_disposition_header(True, f"{name}.csv")
    return response


def _member_cells(member: CustomGroupMemberRecord) -> list[str]:
    return [neutralise_cell(member.phone), neutralise_cell(member.name)]


def _apply(request: HttpRequest, change: Callable[[], object], done: str) -> bool:
    """Make one change through the source; say what happened, or why nothing did."""
    try:
        change()
    except SourceError as error:
        messages.error(request, f"Nothing was changed: {error.detail}")
        return False
    messages.success(request, done)
    return True
