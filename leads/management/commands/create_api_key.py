"""Create a mirror-API key; the raw key is printed alone on the last line, once."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from leads.models import ALL_SCOPES, ApiKey


class Command(BaseCommand):
    help = "Create an API key for /api/v2 (all scopes unless --scopes is given)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument(
            "--scopes", nargs="+", metavar="SCOPE", help=f"any of: {' '.join(ALL_SCOPES)}"
        )
        parser.add_argument("--expires-in-days", type=int, help="expire after this many days")

    def handle(self, *args: Any, name: str, scopes: list[str] | None, **options: Any) -> None:
        if scopes is not None:
            # Accept "a,b" as well as "a b".
            scopes = [s for chunk in scopes for s in chunk.split(",") if s]
            unknown = sorted(set(scopes) - set(ALL_SCOPES))
            if unknown:
                raise CommandError(
                    f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(ALL_SCOPES)}"
                )
        days = options.get("expires_in_days")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        key, raw_key = ApiKey.issue(name, scopes, expires_at=expires_at)
        self.stdout.write(
            f"Created API key {key.name!r} ({key.prefix}…) with scopes: {', '.join(key.scopes)}"
        )
        self.stdout.write("Store it now; it cannot be shown again.")
        self.stdout.write(raw_key)
