"""The chat-export import page: upload an export for a monitored group, see the report."""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from leads.chat_export import MAX_TEXT_BYTES, ChatExportError
from leads.chat_import import import_chat_export
from leads.models import MonitoredGroup
from leads.roles import MANAGER, role_required


class GroupChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: MonitoredGroup) -> str:
        return f"{obj.name} ({obj.wa_group_id}, session {obj.session.name})"


class ImportForm(forms.Form):
    group = GroupChoiceField(
        queryset=MonitoredGroup.objects.select_related("session").order_by("name", "id"),
        empty_label=None,
    )
    file = forms.FileField(help_text="The .txt from “Export chat → Without media”, or its .zip.")

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_TEXT_BYTES:
            raise forms.ValidationError("The file is larger than 50 MB.")
        return upload


@role_required(MANAGER)
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest) -> HttpResponse:
    """GET: the upload form. POST: import the export and show the report (or why not)."""
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                report = import_chat_export(
                    form.cleaned_data["group"], form.cleaned_data["file"].read()
                )
            except ChatExportError as error:
                form.add_error("file", str(error))
        if report is None:
            status = 400
    group = form.cleaned_data["group"] if report else None
    context = {"form": form, "report": report, "group": group}
    return render(request, "leads/import.html", context, status=status)
