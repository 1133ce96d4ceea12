"""Load realistic demo data: groups in several scripts, leads over every status, history.

Idempotent: leads have deterministic ids, so a second run adds nothing. Each run resets the
demo login's password and issues a fresh demo API key (revoking the previous one), and
prints both, since neither can be read back from the database.
"""

import math
import random
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from leads.bulk_rows import indexes_rebuilt_after, insert_rows
from leads.models import (
    ActorKind,
    ApiKey,
    CustomGroup,
    InboundMessage,
    Lead,
    LeadStatusChange,
    MonitoredGroup,
    Session,
    build_search_text,
)
from leads.pipeline import STATUSES, Status, allowed_targets
from leads.roles import REP, VIEWER, set_user_role
from leads.totals import totals_by_status

DEMO_NAMESPACE = uuid.UUID("6f1c1f4e-3c55-4d1a-9a43-2f0a6e1d2b00")
DEMO_USERNAME = "demo"
DEMO_KEY_NAME = "demo"
DEMO_ROLE_USERS = (("rep", REP), ("viewer", VIEWER))

# Each group: its keywords, and messages members write (each containing its keyword).
GROUPS: list[dict[str, Any]] = [
    {
        "name": "Real Estate IL נדל״ן",
        "locale": "he",
        "samples": [
            ("מחפש", "שלום, אני מחפש דירת 3 חדרים בחיפה"),
            ("מחיר", "מה המחיר של הדירה ברחוב הרצל?"),
            ("מעוניין", "אני מעוניין לשמוע פרטים נוספים על הנכס"),
            ("looking for", "Hi, looking for a 4-room flat in Ra'anana, budget 3M"),
            ("price", "What's the price for the penthouse? 🙏"),
        ],
    },
    {
        "name": "سيارات للبيع - حيفا",
        "locale": "ar",
        "samples": [
            ("أبحث عن", "مرحبا، أبحث عن سيارة تويوتا 2019"),
            ("سعر", "كم سعر السيارة من فضلك؟"),
            ("مهتم", "أنا مهتم بالسيارة، هل ما زالت متوفرة؟"),
            ("price", "price for the white Kia please"),
        ],
    },
    {
        "name": "Tel Aviv Startups",
        "locale": "en",
        "samples": [
            ("looking for", "Hi all, looking for a Django freelancer for 3 months"),
            ("hiring", "We're hiring a sales lead, anyone interested? DM me"),
            ("price", "What's the price of a coworking desk at your place?"),
            ("interested", "Very interested in the demo you posted yesterday"),
        ],
    },
    {
        "name": "Квартиры Хайфа",
        "locale": "ru",
        "samples": [
            ("ищу", "Здравствуйте, ищу квартиру у моря"),
            ("цена", "Какая цена за месяц? Спасибо"),
            ("interested", "I'm interested, please send photos"),
        ],
    },
    {
        "name": "Berlin Wohnungen",
        "locale": "de",
        "samples": [
            ("suche", "Hallo, ich suche eine 2-Zimmer-Wohnung in Neukölln"),
            ("Preis", "Was ist der Preis inklusive Nebenkosten?"),
            ("looking for", "Looking for a room from January, any leads?"),
        ],
    },
    {
        "name": "Furniture Marketplace",
        "locale": "en",
        "samples": [
            ("how much", "How much for the oak table? Can pick up today"),
            ("price", "Price for the grey sofa? Is it negotiable?"),
            ("looking for", "Looking for a second-hand crib, anyone?"),
            ("interested", "Interested in the bookshelf — still available?"),
        ],
    },
]

NAMES = {
    "he": ["דנה לוי", "יוסי כהן", "מיכל אברהם", "אבי מזרחי", "נועה פרץ", "רונית ביטון"],
    "ar": ["محمد خليل", "فاطمة حداد", "أحمد منصور", "ليلى عيسى", "يوسف نصار", "سارة عودة"],
    "en": ["Dana Levi", "John Carter", "Priya Shah", "Tom O'Neil", "Maria Garcia", "Chen Wei"],
    "ru": ["Анна Петрова", "Игорь Смирнов", "Ольга Иванова", "Дмитрий Козлов"],
    "de": ["Jürgen Müller", "Anna Schäfer", "Lukas Weiß", "Sophie Krüger"],
}
COUNTRY_CODES = {"he": "972", "ar": "972", "en": "1", "ru": "7", "de": "49"}

# How a working team handles its leads. A lead is first contacted within minutes (the mean
# below), so only the freshest are still `new`; older ones have moved along the pipeline.
RESPONSE_MINUTES = 12
# A little of today's inflow (the last two hours), so the board's `new` column has life.
TODAY_SHARE = 0.05
TODAY_MINUTES = 120
# How likely each status is as the next step, among those `TRANSITIONS` allows from where the
# lead is, and how likely a lead that reached a status moves on from it (terminal ones stop).
STEP_WEIGHTS: dict[Status, float] = {
    Status.NEW: 1.0,
    Status.CONTACTED: 6.0,
    Status.QUALIFIED: 2.0,
    Status.CONVERTED: 1.0,
    Status.LOST: 1.0,
}
MOVES_ON: dict[Status, float] = {
    Status.NEW: 1.0,  # reopened: a working team picks it up again
    Status.CONTACTED: 0.5,
    Status.QUALIFIED: 0.6,
    Status.CONVERTED: 0.0,
    Status.LOST: 0.08,
}
MAX_STEPS = 8
# Each status's next steps and their weights, read once from the transition table.
NEXT_STEPS: dict[Status, tuple[list[Status], list[float]]] = {
    status: (targets, [STEP_WEIGHTS[target] for target in targets])
    for status in STATUSES
    for targets in [allowed_targets(status)]
}
# Gaps between steps: the first contact soon after detection, later steps over days.
LATER_STEP_MINUTES = 60 * 24 * 2
# Leads generated and written at a time (and checked for, so re-runs add nothing).
CHUNK = 10_000

LEAD_COLUMNS = (
    "id",
    "source_group",
    "contact_jid",
    "contact_phone",
    "contact_name",
    "lead_status",
    "lead_score",
    "lead_reasons",
    "lead_detected_at",
    "matched_keyword",
    "message_preview",
    "monitor_mode",
    "message_count",
    "search_text",
    "created_at",
    "updated_at",
)
HISTORY_COLUMNS = (
    "lead",
    "from_status",
    "to_status",
    "changed_at",
    "actor_kind",
    "actor_label",
    "reason",
)


def pipeline_walk(rng: random.Random) -> list[Status]:
    """The steps a handled lead took from `new`: a random walk over `TRANSITIONS`.

    At least one step, and never ending back in `new`: a handled lead is not waiting.
    """
    path: list[Status] = []
    current = Status.NEW
    while True:
        targets, weights = NEXT_STEPS[current]
        if not targets:
            break
        current = rng.choices(targets, weights=weights)[0]
        path.append(current)
        if current != Status.NEW and (len(path) >= MAX_STEPS or rng.random() >= MOVES_ON[current]):
            break
    return path


def still_new(rng: random.Random, age: timedelta) -> bool:
    """True for a lead nobody has contacted yet: likely only in its first minutes."""
    return rng.random() < math.exp(-age.total_seconds() / 60 / RESPONSE_MINUTES)


def detection_age(rng: random.Random) -> timedelta:
    """How long ago a demo lead appeared: ~60 days, denser recently, some in the last hours."""
    if rng.random() < TODAY_SHARE:
        return timedelta(minutes=rng.uniform(0, TODAY_MINUTES))
    return timedelta(minutes=int(rng.expovariate(1 / (60 * 24 * 10))) % (60 * 24 * 60))


def history_rows(
    rng: random.Random, lead_id: uuid.UUID, path: list[Status], detected: datetime, now: datetime
) -> tuple[list[tuple[Any, ...]], datetime]:
    """The history rows of `path` (values for `HISTORY_COLUMNS`) and the last step's time."""
    rows: list[tuple[Any, ...]] = []
    previous, moment = Status.NEW, detected
    for step in path:
        mean = RESPONSE_MINUTES if not rows else LATER_STEP_MINUTES
        # Never in the future: a lead found a minute ago was moved just now at most.
        moment = min(moment + timedelta(minutes=rng.expovariate(1 / mean)), now)
        rows.append((lead_id, previous, step, moment, ActorKind.SYSTEM, "demo data", ""))
        previous = step
    return rows, moment


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print a demo login and API key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, default=3000, help="number of demo leads")
        parser.add_argument(
            "--groups",
            type=int,
            default=len(GROUPS),
            help=f"number of monitored groups (default {len(GROUPS)}; more repeat the kinds)",
        )
        parser.add_argument(
            "--no-credentials", action="store_true", help="do not touch the demo login and key"
        )

    def handle(
        self, *args: Any, leads: int, groups: int, no_credentials: bool, **options: Any
    ) -> None:
        session, _ = Session.objects.get_or_create(
            name="demo", defaults={"status": "WORKING", "phone_number": "+972500000000"}
        )
        monitored = [
            self._group(session, index, GROUPS[index % len(GROUPS)])
            for index in range(max(1, groups))
        ]
        created = self._leads(monitored, leads)
        self._inbound(session)
        CustomGroup.objects.get_or_create(name="Hot buyers")
        total = sum(totals_by_status().values())
        self.stdout.write(f"Demo data: {created} leads added, {total} in the store.")
        if not no_credentials:
            self._credentials()

    def _group(self, session: Session, index: int, spec: dict[str, Any]) -> MonitoredGroup:
        # The first groups keep their plain names; extra ones (--groups) are numbered.
        name = (
            spec["name"] if index < len(GROUPS) else f"{spec['name']} #{index // len(GROUPS) + 1}"
        )
        group, _ = MonitoredGroup.objects.get_or_create(
            session=session,
            wa_group_id=f"1203634000000{index:05d}@g.us",
            defaults={
                "name": name,
                "monitor_keywords": list(dict.fromkeys(kw for kw, _ in spec["samples"])),
            },
        )
        group.demo_spec = spec  # type: ignore[attr-defined]
        return group

    def _leads(self, groups: list[MonitoredGroup], count: int) -> int:
        rng = random.Random(20261125)  # noqa: S311 - demo data, determinism wanted
        now = timezone.now()
        created = 0
        present = sum(totals_by_status().values())
        # One transaction: the demo is loaded whole or not at all.
        with (
            transaction.atomic(),
            indexes_rebuilt_after(
                [Lead, LeadStatusChange], adding=count - present, present=present
            ),
        ):
            for start in range(0, count, CHUNK):
                chunk = [
                    self._demo_lead(rng, index, groups[index % len(groups)], now)
                    for index in range(start, min(count, start + CHUNK))
                ]
                created += self._save(chunk, check_existing=present > 0)
        return created

    def _demo_lead(
        self, rng: random.Random, index: int, group: MonitoredGroup, now: datetime
    ) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
        """One lead's row (values for `LEAD_COLUMNS`) and its history rows."""
        spec = group.demo_spec  # type: ignore[attr-defined]
        locale = spec["locale"]
        keyword, message = rng.choice(spec["samples"])
        name = rng.choice(NAMES[locale])
        hidden = rng.random() < 0.03
        digits = f"{COUNTRY_CODES[locale]}5{index:08d}"
        phone = None if hidden else "+" + digits
        age = detection_age(rng)
        detected = now - age
        lead_id = uuid.uuid5(DEMO_NAMESPACE, f"lead-{index}")
        path = [] if still_new(rng, age) else pipeline_walk(rng)
        history, updated = history_rows(rng, lead_id, path, detected, now)
        row: tuple[Any, ...] = (
            lead_id,
            group.id,
            f"{digits}@lid" if hidden else f"{digits}@c.us",
            phone,
            name,
            path[-1] if path else Status.NEW,
            0,
            [],
            detected,
            keyword,
            message[:500],
            group.monitor_mode,
            1 + int(rng.expovariate(1.5)),
            build_search_text(name, phone, keyword),
            detected,
            updated,
        )
        return row, history

    def _save(
        self,
        chunk: list[tuple[tuple[Any, ...], list[tuple[Any, ...]]]],
        *,
        check_existing: bool,
    ) -> int:
        """Write the chunk's leads that are not in the store yet, with their history.

        Demo rows are born with their final status and matching history; live status
        changes go through leads.services.
        """
        existing: set[uuid.UUID] = set()
        if check_existing:
            ids = [row[0] for row, _ in chunk]
            existing = set(Lead.objects.filter(pk__in=ids).values_list("id", flat=True))
        new = [(row, history) for row, history in chunk if row[0] not in existing]
        insert_rows(Lead, LEAD_COLUMNS, (row for row, _ in new))
        insert_rows(
            LeadStatusChange, HISTORY_COLUMNS, (step for _, history in new for step in history)
        )
        return len(new)

    def _inbound(self, session: Session) -> None:
        """A few contacts wrote to us directly: the reciprocity check has real answers."""
        for lead in Lead.objects.filter(contact_phone__isnull=False).order_by("id")[:40]:
            InboundMessage.objects.get_or_create(
                wa_message_id=f"demo-inbound-{lead.id}",
                defaults={
                    "session": session,
                    "contact_jid": lead.contact_jid,
                    "contact_phone": lead.contact_phone,
                    "body": "Hi, I saw your post in the group",
                    "received_at": lead.lead_detected_at + timedelta(minutes=3),
                },
            )

    def _credentials(self) -> None:
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"is_staff": True, "is_superuser": True}
        )
        password = secrets.token_urlsafe(9)
        user.set_password(password)
        user.save()
        ApiKey.objects.filter(name=DEMO_KEY_NAME, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        _, raw_key = ApiKey.issue(DEMO_KEY_NAME)
        # Two more logins to see the roles at work (leads/roles.py): a rep moves leads one
        # at a time, a viewer only reads. Printed first: scripts read the demo login and the
        # key from the last two lines.
        for username, role in DEMO_ROLE_USERS:
            member, _ = user_model.objects.get_or_create(username=username)
            member_password = secrets.token_urlsafe(9)
            member.set_password(member_password)
            member.save()
            set_user_role(member, role)
            self.stdout.write(f"Demo login ({role}): {username} / {member_password}")
        self.stdout.write(f"Demo login: {DEMO_USERNAME} / {password}")
        self.stdout.write(f"Demo API key: {raw_key}")
