"""Measure a large chat-export import through the background job (issue 12's 50 MB case).

    python manage.py bench_import [--messages 517000]

Generates an export (`leads.bench.write_sample_chat_export`) into a temporary file, queues it
as the upload page would, runs the job in this process, and prints the wall time of the job,
messages per second, and the process's peak resident memory. Run it on PostgreSQL, nicened.
"""

import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.core.management.base import BaseCommand, CommandParser
from django.test import override_settings

from leads.bench import write_sample_chat_export
from leads.import_jobs import queue_import, run_queued_jobs
from leads.models import ImportJob, MonitoredGroup, Session


class Command(BaseCommand):
    help = "Import a generated chat export through the background job; print time and memory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--messages", type=int, default=517_000)

    def handle(self, *args: Any, messages: int, **options: Any) -> None:
        session, _ = Session.objects.get_or_create(name="bench-import")
        group = MonitoredGroup.objects.create(
            session=session,
            wa_group_id=f"bench-import-{time.time_ns()}@g.us",
            name="Bench import",
            monitor_keywords=["price"],
        )
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "chat.txt"
            with path.open("w", encoding="utf-8") as out:
                write_sample_chat_export(out, messages)
            size = path.stat().st_size
            # Run by this command, not by the worker thread the queueing would start.
            with path.open("rb") as file, override_settings(IMPORT_WORKER=False):
                job = queue_import(group, UploadedFile(file, "chat.txt", size=size), None)
        started = time.perf_counter()
        run_queued_jobs()
        seconds = time.perf_counter() - started
        job = ImportJob.objects.get(pk=job.pk)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(
            f"{job.state}: {job.messages_done:,} messages ({size / 1e6:.1f} MB), "
            f"{job.leads_created:,} leads, in {seconds:.1f} s = "
            f"{job.messages_done / seconds:,.0f} msg/s; peak RSS {peak_mb:.0f} MB; "
            f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}"
        )
