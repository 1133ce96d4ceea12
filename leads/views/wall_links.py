"""`/settings/wall/`: managers create and revoke the office screen's display links.

A new link's address is shown once, right after it is made (only its hash is stored, like
API keys); revoking blanks every screen showing it within seconds.
"""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from leads.models import WallLink
from leads.roles import MANAGER, role_required


class WallLinkForm(forms.ModelForm):
    class Meta:
        model = WallLink
        fields = ["name", "show_full_names", "show_phones", "rotate"]
        labels = {
            "name": "Name (where the screen is)",
            "show_full_names": "Show full names (default: first names only)",
            "show_phones": "Show whole phone numbers (default: last 4 digits)",
            "rotate": "Rotate between the board and the numbers",
        }
        widgets = {"name": forms.TextInput(attrs={"dir": "auto", "placeholder": "Sales floor TV"})}


def _render(
    request: HttpRequest,
    form: WallLinkForm | None = None,
    *,
    new_url: str = "",
    status: int = 200,
) -> HttpResponse:
    links = WallLink.objects.select_related("created_by")
    context = {"links": links, "form": form or WallLinkForm(), "new_url": new_url}
    return render(request, "leads/wall_links.html", context, status=status)


@require_http_methods(["GET", "POST"])
@role_required(MANAGER)
def wall_links_page(request: HttpRequest) -> HttpResponse:
    """GET: the links. POST: make a link and show its address this once."""
    if request.method == "GET":
        return _render(request)
    form = WallLinkForm(request.POST)
    if not form.is_valid():
        return _render(request, form, status=400)
    link, token = WallLink.issue(
        form.cleaned_data["name"],
        created_by=request.user,
        show_full_names=form.cleaned_data["show_full_names"],
        show_phones=form.cleaned_data["show_phones"],
        rotate=form.cleaned_data["rotate"],
    )
    url = request.build_absolute_uri(reverse("leads:wall", args=[token]))
    return _render(request, new_url=url)


@require_POST
@role_required(MANAGER)
def wall_link_revoke(request: HttpRequest, link_id: int) -> HttpResponse:
    """Revoke a link: screens showing it go blank on their next poll."""
    link = get_object_or_404(WallLink, pk=link_id)
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
    messages.success(request, f"Revoked “{link.name}”. Screens showing it go blank within seconds.")
    return redirect("leads:wall-links")
