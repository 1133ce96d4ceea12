"""`/settings/users/`: managers add people and set each one's role (and switch them off).

A deliberately small page: the Django admin remains for everything else about accounts, but
roles are set here, so a manager does not need `is_staff` (admin access) to run the team.
Superusers are always managers. The rules on who may change whom (not oneself, a superuser
only by a superuser, never the last manager) are in `leads.people`.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from leads.people import PersonChangeRefused, change_person
from leads.roles import MANAGER, ROLE_LABELS, ROLES, VIEWER, role_required, set_user_role, user_role

ROLE_CHOICES = [(role, ROLE_LABELS[role]) for role in ROLES]


class NewUserForm(UserCreationForm):
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial=VIEWER)

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)
    is_active = forms.BooleanField(required=False, label="Can sign in")


def _render(
    request: HttpRequest, new_user_form: NewUserForm | None = None, status: int = 200
) -> HttpResponse:
    users = get_user_model().objects.order_by("username").prefetch_related("groups")
    rows: list[dict[str, Any]] = [
        {"user": user, "role": user_role(user) or VIEWER} for user in users
    ]
    for row in rows:
        # Inactive users have no role to act with, but the page shows the one they would get.
        if not row["user"].is_active:
            names = {group.name for group in row["user"].groups.all()}
            row["role"] = next((r for r in reversed(ROLES) if r in names), VIEWER)
    context = {
        "rows": rows,
        "roles": ROLE_CHOICES,
        "form": new_user_form or NewUserForm(),
    }
    return render(request, "leads/users.html", context, status=status)


@require_http_methods(["GET", "POST"])
@role_required(MANAGER)
def users_page(request: HttpRequest) -> HttpResponse:
    """GET: everyone and their role. POST: add a person with a password and a role."""
    if request.method == "GET":
        return _render(request)
    form = NewUserForm(request.POST)
    if not form.is_valid():
        return _render(request, form, status=400)
    user = form.save()
    set_user_role(user, form.cleaned_data["role"])
    messages.success(request, f"Added {user.get_username()} as a {form.cleaned_data['role']}.")
    return redirect("leads:users")


@require_POST
@role_required(MANAGER)
def user_update(request: HttpRequest, user_id: int) -> HttpResponse:
    """Set one person's role and whether they can sign in."""
    user = get_object_or_404(get_user_model(), pk=user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
        return redirect("leads:users")
    try:
        change_person(
            request.user,
            user,
            role=form.cleaned_data["role"],
            is_active=form.cleaned_data["is_active"],
        )
    except PersonChangeRefused as refused:
        messages.error(request, str(refused))
        return _render(request, status=403)
    note = " (a superuser stays a manager whatever the role)" if user.is_superuser else ""
    messages.success(request, f"Saved {user.get_username()}{note}.")
    return redirect("leads:users")
