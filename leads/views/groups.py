"""The groups settings page: monitored groups, their mode and keywords, and groups seen."""

import uuid

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from leads.detection import MAX_KEYWORD_LENGTH, clean_keywords
from leads.models import PLAN_LIMITS, Account, MonitoredGroup, MonitorMode, SeenGroup, Session
from leads.monitoring import (
    GROUP_JID,
    AlreadyMonitored,
    PlanLimitReached,
    seen_groups_not_monitored,
    start_monitoring,
    update_monitoring,
)
from leads.roles import MANAGER, role_required

MAX_KEYWORDS = 2000


class KeywordsField(forms.CharField):
    """One keyword (or phrase) per line; blank lines and repeats dropped."""

    widget = forms.Textarea(attrs={"rows": 6, "dir": "auto"})

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def clean(self, value: object) -> list[str]:
        text = super().clean(value) or ""
        keywords = clean_keywords(text.splitlines())
        too_long = [k for k in keywords if len(k) > MAX_KEYWORD_LENGTH]
        if too_long:
            raise forms.ValidationError(
                f"A keyword can be at most {MAX_KEYWORD_LENGTH} characters "
                f"(“{too_long[0][:40]}…” is longer)."
            )
        if len(keywords) > MAX_KEYWORDS:
            raise forms.ValidationError(f"At most {MAX_KEYWORDS} keywords per group.")
        return keywords


class AddGroupForm(forms.Form):
    session = forms.ModelChoiceField(queryset=Session.objects.order_by("name"), empty_label=None)
    wa_group_id = forms.CharField(
        label="WhatsApp group id", max_length=100, help_text="Ends with @g.us"
    )
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"dir": "auto"}))
    monitor_mode = forms.ChoiceField(choices=MonitorMode.choices, initial=MonitorMode.KEYWORDS)
    monitor_keywords = KeywordsField(label="Keywords, one per line")

    def clean_wa_group_id(self) -> str:
        value = self.cleaned_data["wa_group_id"].strip()
        if not GROUP_JID.match(value):
            raise forms.ValidationError("A group id looks like 120363012345678901@g.us.")
        return value


class EditGroupForm(forms.Form):
    monitor_mode = forms.ChoiceField(choices=MonitorMode.choices)
    monitor_keywords = KeywordsField(label="Keywords, one per line")
    is_active = forms.BooleanField(required=False, label="Active")


def _edit_form(group: MonitoredGroup) -> EditGroupForm:
    return EditGroupForm(
        initial={
            "monitor_mode": group.monitor_mode,
            "monitor_keywords": "\n".join(
                k for k in group.monitor_keywords or [] if isinstance(k, str)
            ),
            "is_active": group.is_active,
        },
        prefix=f"group-{group.pk}",
    )


def _render(
    request: HttpRequest,
    *,
    add_form: AddGroupForm | None = None,
    edited: tuple[MonitoredGroup, EditGroupForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    account = Account.current()
    groups = list(MonitoredGroup.objects.select_related("session").order_by("name", "id"))
    rows = [
        (group, edited[1] if edited and edited[0].pk == group.pk else _edit_form(group))
        for group in groups
    ]
    allowed = PLAN_LIMITS[account.plan]["groups"]
    context = {
        "account": account,
        "allowed": allowed,
        "used": len(groups),
        "has_room": len(groups) < allowed,
        "rows": rows,
        "add_form": add_form or AddGroupForm(),
        "has_sessions": Session.objects.exists(),
        "seen_groups": seen_groups_not_monitored(),
    }
    return render(request, "leads/groups.html", context, status=status)


@role_required(MANAGER)
@require_http_methods(["GET", "POST"])
def groups_page(request: HttpRequest) -> HttpResponse:
    """GET: the page. POST: start monitoring the group the add form describes."""
    if request.method == "GET":
        return _render(request)
    form = AddGroupForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            group = start_monitoring(
                data["session"],
                data["wa_group_id"],
                data["name"],
                data["monitor_mode"],
                data["monitor_keywords"],
            )
        except (PlanLimitReached, AlreadyMonitored) as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Now monitoring {group.name}.")
            return redirect("leads:groups")
    return _render(request, add_form=form, status=400)


@role_required(MANAGER)
@require_POST
def group_update(request: HttpRequest, group_id: uuid.UUID) -> HttpResponse:
    """Save one group's mode, keywords and active switch."""
    group = get_object_or_404(MonitoredGroup, pk=group_id)
    form = EditGroupForm(request.POST, prefix=f"group-{group.pk}")
    if not form.is_valid():
        return _render(request, edited=(group, form), status=400)
    update_monitoring(
        group,
        mode=form.cleaned_data["monitor_mode"],
        keywords=form.cleaned_data["monitor_keywords"],
        is_active=form.cleaned_data["is_active"],
    )
    messages.success(request, f"Saved {group.name}.")
    return redirect("leads:groups")


@role_required(MANAGER)
@require_POST
def seen_group_monitor(request: HttpRequest, seen_id: int) -> HttpResponse:
    """One click: start monitoring a group seen on a session (keywords mode, no keywords yet)."""
    seen = get_object_or_404(SeenGroup.objects.select_related("session"), pk=seen_id)
    try:
        group = start_monitoring(
            seen.session,
            seen.wa_group_id,
            seen.name or seen.wa_group_id,
            MonitorMode.KEYWORDS,
            [],
            reactivate=True,
        )
    except (PlanLimitReached, AlreadyMonitored) as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, f"Now monitoring {group.name}. Add its keywords below to start finding leads."
        )
    return redirect("leads:groups")
