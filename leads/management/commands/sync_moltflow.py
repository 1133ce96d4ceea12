"""Pull every lead of a MoltFlow account into the local store (idempotent upsert)."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.client import MoltflowClient
from leads.sources.errors import SourceError
from leads.sources.moltflow import UPSTREAM_PAGE_MAX, MoltflowSource
from leads.sync import SyncSummary, sync_moltflow


class Command(BaseCommand):
    help = (
        "Copy every lead of the MoltFlow account (MOLTFLOW_API_URL, MOLTFLOW_API_KEY) into "
        "the local store. Safe to run again: only what changed upstream is written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--api-url", help="default: MOLTFLOW_API_URL")
        parser.add_argument("--api-key", help="default: MOLTFLOW_API_KEY")
        parser.add_argument(
            "--page-size", type=int, default=UPSTREAM_PAGE_MAX, help="leads per request (1..100)"
        )
        parser.add_argument(
            "--skip-details",
            action="store_true",
            help="list pages only: one request per 100 leads instead of one more per lead, "
            "but message_count is not refreshed",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        url = options.get("api_url") or settings.MOLTFLOW_API_URL
        key = options.get("api_key") or settings.MOLTFLOW_API_KEY
        if not url or not key:
            raise CommandError(
                "Set MOLTFLOW_API_URL and MOLTFLOW_API_KEY (or pass --api-url and --api-key)."
            )
        page_size = options["page_size"]
        if not 1 <= page_size <= UPSTREAM_PAGE_MAX:
            raise CommandError(f"--page-size must be 1..{UPSTREAM_PAGE_MAX}.")
        source = MoltflowSource(MoltflowClient(url, key))
        verbose = options["verbosity"] > 1

        def progress(pages: int, summary: SyncSummary) -> None:
            if verbose:
                self.stdout.write(f"page {pages}: {summary}")

        try:
            summary = sync_moltflow(
                source,
                page_size=page_size,
                on_page=progress,
                details=not options["skip_details"],
            )
        except SourceError as error:
            raise CommandError(f"Sync stopped: {error}") from error
        self.stdout.write(f"Synced from {url}: {summary}")
        for conflict in summary.conflicts:
            # Left for a person: listed on /activity/ too, until a sync finds them agreeing.
            self.stdout.write(self.style.WARNING(str(conflict)))
