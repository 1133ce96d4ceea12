"""`/settings/api-keys/`: managers issue and revoke keys for the mirror API (`/api/v2`).

The same keys the admin and `manage.py create_api_key` make: the raw key is shown once, right
after it is issued; only its SHA-256 is kept.
"""

import uuid
from datetime import timedelta

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from leads.models import ALL_SCOPES, ApiKey
from leads.roles import MANAGER, role_required


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"dir": "auto"}))
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in ALL_SCOPES],
        initial=list(ALL_SCOPES),
        widget=forms.CheckboxSelectMultiple,
        help_text="manage implies read.",
    )
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, label="Expires in (days, empty: never)"
    )


def _render(
    request: HttpRequest, form: ApiKeyForm | None = None, *, raw_key: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "keys": ApiKey.objects.select_related("usage").order_by("-created_at"),
        "form": form or ApiKeyForm(),
        "raw_key": raw_key,
        "now": timezone.now(),
    }
    return render(request, "leads/api_keys.html", context, status=status)


@require_http_methods(["GET", "POST"])
@role_required(MANAGER)
def api_keys_page(request: HttpRequest) -> HttpResponse:
    """GET: the keys. POST: issue a key and show it this once."""
    if request.method == "GET":
        return _render(request)
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _render(request, form, status=400)
    days = form.cleaned_data["expires_in_days"]
    _, raw_key = ApiKey.issue(
        form.cleaned_data["name"],
        form.cleaned_data["scopes"],
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    return _render(request, raw_key=raw_key)


@require_POST
@role_required(MANAGER)
def api_key_revoke(request: HttpRequest, key_id: uuid.UUID) -> HttpResponse:
    """Revoke a key: the API answers 401 to it from the next request on."""
    key = get_object_or_404(ApiKey, pk=key_id)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    messages.success(request, f"Revoked the key “{key.name}” ({key.prefix}…).")
    return redirect("leads:api-keys")
