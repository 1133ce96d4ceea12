"""Backfill a monitored group from a WhatsApp chat export (.txt or .zip) and print the report.

The file is read from disk as it is imported (constant memory), in this process: the page's
background jobs are for uploads.
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.chat_export import MAX_TEXT_BYTES, ChatExportError
from leads.chat_import import import_chat_export, report_lines
from leads.models import MonitoredGroup


class Command(BaseCommand):
    help = "Import a WhatsApp chat export into a monitored group, running lead detection."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the exported .txt, or the .zip holding it")
        parser.add_argument(
            "--group", required=True, metavar="WA_GROUP_ID", help="the group's …@g.us id"
        )
        parser.add_argument(
            "--session", help="the session's name, when several sessions monitor that group"
        )

    def handle(self, *args: Any, file: Path, group: str, **options: Any) -> None:
        groups = MonitoredGroup.objects.select_related("session").filter(wa_group_id=group)
        if options.get("session"):
            groups = groups.filter(session__name=options["session"])
        found = list(groups[:2])
        if not found:
            raise CommandError(f"No monitored group {group!r}. Add it on the groups page first.")
        if len(found) > 1:
            raise CommandError(f"Several sessions monitor {group!r}; choose one with --session.")
        try:
            if file.stat().st_size > MAX_TEXT_BYTES:
                raise CommandError(f"{file} is larger than 50 MB.")
            with file.open("rb") as data:
                report = import_chat_export(found[0], data)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}") from None
        except ChatExportError as error:
            raise CommandError(f"{file}: {error}") from None
        self.stdout.write(f"Imported {file.name} into {found[0].name} ({found[0].wa_group_id})")
        for line in report_lines(report):
            self.stdout.write(line)
