"""Measure the leads table's server time on a large store, next to the Django admin's.

    DATABASE_URL=postgres://… python manage.py bench_table --leads 100000

Makes sure the store holds at least N leads (through `seed_demo`), then requests the table
filtered + searched + sorted (`?status=new&q=price&sort=contact_name`) and the admin's
changelist for leads with the same filter, search and order
(`/admin/leads/lead/?lead_status__exact=new&q=price&o=1`), in-process with Django's test
client as a signed-in manager who may also use the admin, in the same run. It prints the
median and 95th percentile of each and their ratio (table / admin: below 1 is faster).

Two more rows say what sorting by group costs: the unfiltered table by group name next to
the unfiltered table newest first (the order its index serves).
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand, CommandParser
from django.http import HttpResponseBase
from django.test import Client

from leads.bench import BenchRow, print_table, time_pages
from leads.management.commands.bench_api import ensure_leads
from leads.models import Lead

BENCH_USERNAME = "bench-table"
TABLE_QUERY = {"status": "new", "q": "price", "sort": "contact_name"}
# o=1: the admin's first list_display column, contact_name, ascending.
ADMIN_QUERY = {"lead_status__exact": "new", "q": "price", "o": "1"}
HTMX_RESULTS = {"HX-Request": "true", "HX-Target": "leads-results"}

# bench_all finds this benchmark's headline row by "table page vs admin changelist".
TABLE = "table page vs admin changelist: ?status=new&q=price&sort=contact_name"
ADMIN = "admin changelist ?lead_status__exact=new&q=price&o=1"
TABLE_HTMX = "table, same query, htmx results region"
BY_GROUP = "table ?sort=group_name (no filter)"
NEWEST = "table, newest first (no filter)"


class Command(BaseCommand):
    help = "Time the filtered + searched + sorted leads table next to the admin changelist."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, default=100_000, help="leads the store holds")
        parser.add_argument("--runs", type=int, default=30, help="timed requests per page")

    def handle(self, *args: Any, leads: int, runs: int, **options: Any) -> None:
        ensure_leads(leads, self.stdout.write)
        print_table(measure(runs, self.stdout.write), self.stdout.write)


def measure(runs: int, log: Callable[[str], object]) -> list[BenchRow]:
    """The table and the admin changelist on the same query, timed in the same run."""
    client = Client(HTTP_HOST="localhost")
    client.force_login(_manager_with_admin())
    matching = Lead.objects.filter(lead_status="new", search_text__contains="price").count()
    log(
        f"{matching} of {Lead.objects.count()} leads match status=new and 'price'; "
        f"{runs} runs each, after 3 warm-up requests."
    )
    pages: dict[str, Callable[[], HttpResponseBase]] = {
        TABLE: lambda: client.get("/leads/", TABLE_QUERY),
        ADMIN: lambda: client.get("/admin/leads/lead/", ADMIN_QUERY),
        TABLE_HTMX: lambda: client.get("/leads/", TABLE_QUERY, headers=HTMX_RESULTS),
        BY_GROUP: lambda: client.get("/leads/", {"sort": "group_name"}),
        NEWEST: lambda: client.get("/leads/"),
    }
    peers = {TABLE: ADMIN, TABLE_HTMX: ADMIN, BY_GROUP: NEWEST}
    return time_pages(pages, peers, runs)


def _manager_with_admin() -> User:
    """A manager who may also read leads in the admin (staff with the view permission).

    Not a superuser: the table would treat one as a manager anyway, but the admin skips
    its permission checks for one, which would flatter the admin's numbers.
    """
    user, _ = User.objects.get_or_create(
        username=BENCH_USERNAME, defaults={"is_staff": True, "is_active": True}
    )
    user.groups.add(Group.objects.get_or_create(name="manager")[0])
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="leads", codename="view_lead")
    )
    return user
