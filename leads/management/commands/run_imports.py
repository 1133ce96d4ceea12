"""Run the chat-export imports waiting in the queue (or left by a worker that died)."""

from typing import Any

from django.core.management.base import BaseCommand

from leads.import_jobs import run_queued_jobs
from leads.models import ImportJob


class Command(BaseCommand):
    help = (
        "Run queued chat-export imports until none is left, resuming any whose worker died. "
        "For deployments that run imports outside the web processes (IMPORT_WORKER=off)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        ran = run_queued_jobs()
        for job in ImportJob.objects.filter(pk__in=ran).select_related("group").order_by("pk"):
            outcome = f"{job.messages_done:,} messages, {job.leads_created:,} leads created"
            if job.error:
                outcome = job.error
            self.stdout.write(
                f"Import {job.pk} ({job.file_name} → {job.group.name}): {job.state}. {outcome}"
            )
        if not ran:
            self.stdout.write("No import is waiting.")
