"""Rebuild the kept lead totals from the leads and say what was corrected.

    python manage.py reconcile_totals

The triggers keep the totals exact; run this after restoring data with triggers disabled
(`pg_restore --disable-triggers`, `session_replication_role = replica`) or to check them.
"""

from typing import Any

from django.core.management.base import BaseCommand

from leads.totals import reconcile_totals


class Command(BaseCommand):
    help = "Rebuild the lead totals (per group and status, and per day) from the leads."

    def handle(self, *args: Any, **options: Any) -> None:
        wrong = reconcile_totals()
        for (group_id, status, *day), (was, now) in sorted(wrong.items(), key=str):
            on_day = f" detected on {day[0]}" if day else ""
            self.stdout.write(f"group {group_id} {status}{on_day}: kept {was}, counted {now}")
        self.stdout.write(f"Lead totals checked; corrected {len(wrong)}.")
