"""Load realistic demo data: groups in several scripts, leads over every status, history.

Idempotent: leads have deterministic ids, so a second run adds nothing. Each run resets the
demo login's password and issues a fresh demo API key (revoking the previous one), and
prints both, since neither can be read back from the database.
"""

import random
import secrets
import uuid
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

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
from leads.pipeline import Status
from leads.roles import REP, VIEWER, set_user_role
from leads.waiting import waiting_threshold

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

# Where a demo lead ends up, and the path it took to get there (a chain of allowed steps).
PATHS: list[tuple[float, list[Status]]] = [
    (0.40, []),
    (0.18, [Status.CONTACTED]),
    (0.12, [Status.CONTACTED, Status.QUALIFIED]),
    (0.10, [Status.CONTACTED, Status.QUALIFIED, Status.CONVERTED]),
    (0.05, [Status.QUALIFIED, Status.CONVERTED]),
    (0.10, [Status.CONTACTED, Status.LOST]),
    (0.05, [Status.LOST]),
]


# A working team contacts a new lead within minutes: past the waiting threshold only this
# share of demo leads is still `new`, so the wall's "waiting" alarm shows a few, not 1,000+.
STILL_NEW_WHEN_OLD = 0.02


def _roll_path(rng: random.Random) -> list[Status]:
    roll = rng.random()
    for weight, path in PATHS:
        roll -= weight
        if roll <= 0:
            return path
    return []


def _pick_path(rng: random.Random, age: timedelta) -> list[Status]:
    """A demo lead's history; one older than the waiting threshold is nearly always handled."""
    path = _roll_path(rng)
    old = age > waiting_threshold()
    if not path and old and rng.random() > STILL_NEW_WHEN_OLD:
        while not path:  # someone handled it: one of the paths out of `new`
            path = _roll_path(rng)
    return path


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
        total = Lead.objects.count()
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
        batch: list[tuple[Lead, list[Status]]] = []
        for index in range(count):
            group = groups[index % len(groups)]
            lead, path = self._demo_lead(rng, index, group, now)
            batch.append((lead, path))
            if len(batch) >= 2000:
                created += self._save(batch)
                batch = []
        if batch:
            created += self._save(batch)
        return created

    def _demo_lead(
        self, rng: random.Random, index: int, group: MonitoredGroup, now: Any
    ) -> tuple[Lead, list[Status]]:
        spec = group.demo_spec  # type: ignore[attr-defined]
        locale = spec["locale"]
        keyword, message = rng.choice(spec["samples"])
        name = rng.choice(NAMES[locale])
        hidden = rng.random() < 0.03
        digits = f"{COUNTRY_CODES[locale]}5{index:08d}"
        phone = None if hidden else "+" + digits
        # Spread over ~60 days, denser recently, so "today" and "this week" have life.
        age = timedelta(minutes=int(rng.expovariate(1 / (60 * 24 * 10))) % (60 * 24 * 60))
        detected = now - age
        lead = Lead(
            id=uuid.uuid5(DEMO_NAMESPACE, f"lead-{index}"),
            source_group=group,
            contact_jid=f"{digits}@lid" if hidden else f"{digits}@c.us",
            contact_phone=phone,
            contact_name=name,
            matched_keyword=keyword,
            message_preview=message[:500],
            monitor_mode=group.monitor_mode,
            message_count=1 + int(rng.expovariate(1.5)),
            lead_detected_at=detected,
            created_at=detected,
            updated_at=detected,
            search_text=build_search_text(name, phone, keyword),
        )
        return lead, _pick_path(rng, age)

    @transaction.atomic
    def _save(self, batch: list[tuple[Lead, list[Status]]]) -> int:
        existing = set(
            Lead.objects.filter(pk__in=[lead.id for lead, _ in batch]).values_list("id", flat=True)
        )
        new = [(lead, path) for lead, path in batch if lead.id not in existing]
        history: list[LeadStatusChange] = []
        for lead, path in new:
            previous, moment = Status.NEW, lead.lead_detected_at
            for step in path:
                # Never in the future: a lead found a minute ago was moved just now at most.
                moment = min(moment + timedelta(minutes=17), timezone.now())
                history.append(
                    LeadStatusChange(
                        lead_id=lead.id,
                        from_status=previous,
                        to_status=step,
                        changed_at=moment,
                        actor_kind=ActorKind.SYSTEM,
                        actor_label="demo data",
                    )
                )
                previous = step
            # Demo rows are born with their final status and matching history; live status
            # changes go through leads.services.
            lead.lead_status = previous
            lead.updated_at = moment
        Lead.objects.bulk_create([lead for lead, _ in new], batch_size=1000)
        LeadStatusChange.objects.bulk_create(history, batch_size=2000)
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
