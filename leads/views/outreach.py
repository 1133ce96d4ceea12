"""`/leads/<uuid>/message/`: "Message on WhatsApp", and `/settings/templates/` for managers.

The send dialog is a page of its own (a real form, no JavaScript needed): the reciprocity
check has run before it shows, a cold contact needs the confirmation box ticked, and the rep
edits the template's text before sending. `leads.outreach` owns the rules.
"""

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from leads import outreach
from leads.models import MessageTemplate
from leads.outreach import NeedsConfirmation, SendRefused
from leads.roles import MANAGER, REP, role_required
from leads.sources import get_source
from leads.sources.base import LeadSource
from leads.sources.records import LeadDetail
from leads.views import detail


def _chosen_text(request: HttpRequest, lead: LeadDetail) -> str:
    """The text to start from: the chosen template filled for this lead, else empty."""
    raw = request.GET.get("template", "")
    template = MessageTemplate.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    return outreach.fill_template(template.body, lead) if template else ""


def _render_dialog(
    request: HttpRequest,
    source: LeadSource,
    lead: LeadDetail,
    *,
    text: str,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    hidden = not (lead.contact_phone or "").lstrip("+").isdigit()
    context: dict[str, Any] = {
        "lead": lead,
        "hidden": hidden,
        "cold": not hidden and outreach.is_cold(source, lead),
        "gateway": outreach.gateway_for(source),
        "templates": MessageTemplate.objects.all(),
        "text": text,
        "error": error,
        "max_length": outreach.MESSAGE_MAX_LENGTH,
    }
    return render(request, "leads/message.html", context, status=status)


@require_http_methods(["GET", "POST"])
@role_required(REP)
def lead_message(request: HttpRequest, lead_id: uuid.UUID) -> HttpResponse:
    """GET: the send dialog. POST: send it (or, with no gateway, open it in wa.me)."""
    source = get_source()
    lead = detail.load_lead(source, lead_id)
    if request.method == "GET":
        return _render_dialog(request, source, lead, text=_chosen_text(request, lead))
    text = request.POST.get("text", "")
    gateway = outreach.gateway_for(source)
    try:
        if gateway is None:
            return HttpResponseRedirect(outreach.wa_me_link(lead, text.strip()))
        sent = outreach.lead_send_message(
            source,
            lead,
            text,
            request.user,
            cold_confirmed=request.POST.get("cold_confirmed") == "1",
            gateway=gateway,
        )
    except NeedsConfirmation as refused:
        return _render_dialog(request, source, lead, text=text, error=str(refused), status=400)
    except SendRefused as refused:
        return _render_dialog(
            request, source, lead, text=text, error=f"Not sent: {refused}", status=400
        )
    moved = " and moved it to contacted" if sent.moved else ""
    messages.success(request, f"Sent on WhatsApp{moved}.")
    return redirect("leads:detail", lead_id)


class TemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["name", "body"]
        labels = {"body": "Text ({first_name}, {keyword} and {group} are filled in per lead)"}
        widgets = {
            "name": forms.TextInput(attrs={"dir": "auto"}),
            "body": forms.Textarea(attrs={"rows": 4, "dir": "auto", "maxlength": 2000}),
        }


@require_http_methods(["GET", "POST"])
@role_required(MANAGER)
def templates_page(request: HttpRequest) -> HttpResponse:
    """GET: the team's message templates. POST: add one (or, with `id`, change it)."""
    form = TemplateForm()
    status = 200
    if request.method == "POST":
        template_id = request.POST.get("id", "")
        existing = (
            MessageTemplate.objects.filter(pk=int(template_id)).first()
            if template_id.isdigit()
            else None
        )
        form = TemplateForm(request.POST, instance=existing)
        if form.is_valid():
            template = form.save(commit=False)
            template.updated_at, template.updated_by = timezone.now(), request.user
            template.save()
            messages.success(request, f"Template “{template.name}” saved.")
            return redirect("leads:templates")
        status = 400
    context = {"form": form, "templates": MessageTemplate.objects.select_related("updated_by")}
    return render(request, "leads/message_templates.html", context, status=status)


@require_POST
@role_required(MANAGER)
def template_delete(request: HttpRequest, template_id: int) -> HttpResponse:
    template = get_object_or_404(MessageTemplate, pk=template_id)
    template.delete()
    messages.success(request, f"Template “{template.name}” deleted.")
    return redirect("leads:templates")
