"""The chat-export import pages: upload an export for a monitored group, which queues a
background import (`leads.import_jobs`); follow its progress, then read its report."""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from leads.chat_export import MAX_TEXT_BYTES
from leads.import_jobs import job_report, queue_import, start_worker
from leads.models import ImportJob, ImportState, MonitoredGroup
from leads.roles import MANAGER, role_required
from leads.views.rendering import render_region

RECENT_IMPORTS = 20


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
    """GET: the upload form and recent imports. POST: queue the import, go to its page."""
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = queue_import(form.cleaned_data["group"], form.cleaned_data["file"], request.user)
        return redirect("leads:import-job", job_id=job.pk)
    recent = ImportJob.objects.select_related("group", "started_by").order_by("-created_at")
    context = {"form": form, "recent": recent[:RECENT_IMPORTS]}
    return render(request, "leads/import.html", context, status=400 if form.errors else 200)


@role_required(MANAGER)
@require_GET
def import_job_page(request: HttpRequest, job_id: int) -> HttpResponse:
    """One import: its progress while it runs (the page polls itself), then its report."""
    job = get_object_or_404(ImportJob.objects.select_related("group", "started_by"), pk=job_id)
    if job.state in (ImportState.QUEUED, ImportState.RUNNING):
        start_worker()  # picks it up, or takes over from a worker that died
    context = {"job": job, "report": job_report(job), "finished": job.finished_at is not None}
    return render_region(request, "leads/import_job.html", context, regions=("import-job",))
