"""The local mirror's store: MoltFlow's leads data model, plus history and API keys.

Lead status is written only by `leads.services`; nothing else assigns `lead_status`.
"""

import hashlib
import secrets
import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from leads.pipeline import STATUSES, Status

STATUS_CHOICES = [(status.value, status.value.capitalize()) for status in STATUSES]
# A lead's place in the pipeline (new 0 … lost 4): the table's status sort, and the
# expression its indexes are built on (an ORDER BY must repeat it exactly to use them).
PIPELINE_ORDER = Case(
    *(When(lead_status=status.value, then=Value(index)) for index, status in enumerate(STATUSES)),
    default=Value(len(STATUSES)),
)


class Plan(models.TextChoices):
    FREE = "free", "Free"
    STARTER = "starter", "Starter"
    PRO = "pro", "Pro"
    BUSINESS = "business", "Business"


# Per plan: requests per key per minute, monitored groups, custom groups (CONTRACT §1).
PLAN_LIMITS: dict[str, dict[str, int]] = {
    Plan.FREE: {"rate": 10, "groups": 2, "custom_groups": 2},
    Plan.STARTER: {"rate": 20, "groups": 5, "custom_groups": 5},
    Plan.PRO: {"rate": 40, "groups": 20, "custom_groups": 20},
    Plan.BUSINESS: {"rate": 60, "groups": 100, "custom_groups": 100},
}
PLANS_WITH_BULK = frozenset({Plan.PRO, Plan.BUSINESS})


class Account(models.Model):
    """The one account this deployment mirrors; its plan decides the API's gates."""

    plan = models.CharField(max_length=16, choices=Plan.choices, default=Plan.BUSINESS)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "account"

    def __str__(self) -> str:
        return f"Account ({self.get_plan_display()} plan)"

    @classmethod
    def current(cls) -> "Account":
        account, _ = cls.objects.get_or_create(pk=1)
        return account

    def bulk_refusal(self, what: str) -> str | None:
        """Why this plan may not run `what` (a bulk operation or an export), or None."""
        if self.plan in PLANS_WITH_BULK:
            return None
        return (
            f"{what} requires the Pro plan or above (this account is on the "
            f"{self.get_plan_display()} plan)."
        )

    def room_refusal(self, kind: str, existing: int, label: str) -> str | None:
        """Why the plan allows no `kind` beyond `existing` ("groups", "custom_groups"), or None."""
        allowed = PLAN_LIMITS[self.plan][kind]
        if existing < allowed:
            return None
        return (
            f"The {self.get_plan_display()} plan allows {allowed} {label}; "
            "upgrade the plan or remove one first."
        )


class Session(models.Model):
    """A connected WhatsApp number (a WAHA session)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    status = models.CharField(max_length=20, default="STOPPED")
    phone_number = models.CharField(max_length=20, blank=True, default="")
    me_jid = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class MonitorMode(models.TextChoices):
    KEYWORDS = "keywords", "Keywords"
    FIRST_MESSAGE = "first_message", "First message"
    ALL = "all", "All messages"
    # Purchase intent (leads/intent.py): a buyer's message, with or without a keyword.
    INTENT = "intent", "Purchase intent"


class MonitoredGroup(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="groups")
    wa_group_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    monitor_mode = models.CharField(
        max_length=20, choices=MonitorMode.choices, default=MonitorMode.KEYWORDS
    )
    monitor_keywords = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "wa_group_id"], name="group_unique_per_session"
            )
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GroupMessage(models.Model):
    """A member's message seen in a monitored group."""

    group = models.ForeignKey(MonitoredGroup, on_delete=models.CASCADE, related_name="messages")
    wa_message_id = models.CharField(max_length=200)
    sender_jid = models.CharField(max_length=100)
    sender_phone = models.CharField(max_length=20, null=True, blank=True)
    sender_name = models.CharField(max_length=200, blank=True, default="")
    body = models.TextField(blank=True, default="")
    from_me = models.BooleanField(default=False)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "wa_message_id"], name="message_unique_per_group"
            )
        ]
        indexes = [models.Index(fields=["group", "sender_jid"])]

    def __str__(self) -> str:
        return f"{self.sender_name or self.sender_jid}: {self.body[:40]}"


class Lead(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: `lead_group_newest` and the one-lead-per-contact constraint both
    # start with it, and every index is one more write for each lead a bulk move changes.
    source_group = models.ForeignKey(
        MonitoredGroup, on_delete=models.CASCADE, related_name="leads", db_index=False
    )
    # The WhatsApp id of the contact: `<digits>@c.us`, or `<digits>@lid` when the number is hidden.
    contact_jid = models.CharField(max_length=100)
    contact_phone = models.CharField(max_length=20, null=True, blank=True)
    contact_name = models.CharField(max_length=200, null=True, blank=True)
    lead_status = models.CharField(max_length=16, choices=STATUS_CHOICES, default=Status.NEW)
    lead_score = models.IntegerField(default=0)
    # Why an intent lead scored what it did ("asks for a price"); empty for keyword leads.
    lead_reasons = models.JSONField(default=list, blank=True)
    lead_detected_at = models.DateTimeField(default=timezone.now)
    matched_keyword = models.CharField(max_length=200, null=True, blank=True)
    message_preview = models.CharField(max_length=500, blank=True, default="")
    monitor_mode = models.CharField(max_length=20, default=MonitorMode.KEYWORDS)
    message_count = models.PositiveIntegerField(default=1)
    # Casefolded name, phone digits and keyword: what `search` looks in (one indexed column).
    search_text = models.TextField(blank=True, default="", editable=False)
    # Its group's name, lower-cased, kept by database triggers (leads.group_sort_sql): the
    # group sorts read an index of their own instead of joining and sorting every lead.
    group_sort_name = models.CharField(max_length=200, blank=True, db_default="", editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_group", "contact_jid"], name="one_lead_per_contact_per_group"
            )
        ]
        indexes = [
            models.Index(fields=["-lead_detected_at", "-id"], name="lead_newest_first"),
            models.Index(fields=["lead_status", "-lead_detected_at"], name="lead_status_newest"),
            models.Index(fields=["source_group", "-lead_detected_at"], name="lead_group_newest"),
            # A custom group's page finds its members' leads by phone.
            models.Index(
                fields=["contact_phone", "-lead_detected_at", "-id"], name="lead_phone_newest"
            ),
            # Name sorts carry the newest-first tie-break so a page stops after its rows
            # instead of sorting every lead that shares a name (the status one serves the
            # table's commonest view, a status tab sorted by name, with or without search).
            models.Index(
                Lower("contact_name"),
                F("lead_detected_at").desc(),
                F("id").desc(),
                name="lead_name_newest",
            ),
            models.Index(
                F("lead_status"),
                Lower("contact_name"),
                F("lead_detected_at").desc(),
                F("id").desc(),
                name="lead_status_name_newest",
            ),
            # Z to A, by status and by score (either way) walk their own index in the sort's
            # exact order (mixed directions cannot read another index backwards): at 1,000,000
            # leads each was a 3-4 s sort of every lead, now a page of index entries. Z to A
            # puts unnamed contacts last through COALESCE (SQLite has no NULLS LAST in an index).
            models.Index(
                Coalesce(Lower("contact_name"), Value("")).desc(),
                F("lead_detected_at").desc(),
                F("id").desc(),
                name="lead_name_desc_newest",
            ),
            models.Index(
                PIPELINE_ORDER,
                F("lead_detected_at").desc(),
                F("id").desc(),
                name="lead_stage_newest",
            ),
            models.Index(
                PIPELINE_ORDER.desc(),
                F("lead_detected_at").desc(),
                F("id").desc(),
                name="lead_stage_desc_newest",
            ),
            models.Index(
                F("lead_score").desc(),
                F("lead_detected_at").desc(),
                F("id").desc(),
                name="lead_score_desc_newest",
            ),
            models.Index(
                F("lead_score"),
                F("lead_detected_at").desc(),
                F("id").desc(),
                name="lead_score_newest",
            ),
            models.Index(
                F("group_sort_name"),
                F("lead_detected_at").desc(),
                F("id").desc(),
                name="lead_group_name_newest",
            ),
            models.Index(
                F("group_sort_name").desc(),
                F("lead_detected_at").desc(),
                F("id").desc(),
                name="lead_group_name_desc_newest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_name or self.contact_phone or self.contact_jid} ({self.lead_status})"

    @property
    def session_id(self) -> uuid.UUID:
        return self.source_group.session_id

    def refresh_search_text(self) -> None:
        self.search_text = build_search_text(
            self.contact_name, self.contact_phone, self.matched_keyword
        )


def build_search_text(name: str | None, phone: str | None, keyword: str | None) -> str:
    """The casefolded haystack `search` matches against (name, phone and its digits, keyword)."""
    parts = [name or "", phone or "", (phone or "").lstrip("+"), keyword or ""]
    return "\n".join(part.casefold() for part in parts if part)


class InboundMessage(models.Model):
    """A direct (non-group) message a contact sent to one of our sessions: reciprocity."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="inbound_messages")
    wa_message_id = models.CharField(max_length=200, unique=True)
    contact_jid = models.CharField(max_length=100)
    contact_phone = models.CharField(max_length=20, null=True, blank=True)
    body = models.TextField(blank=True, default="")
    received_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["session", "contact_phone", "-received_at"]),
            models.Index(fields=["session", "contact_jid", "-received_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.contact_phone or self.contact_jid} → {self.session_id}"


class CustomGroup(models.Model):
    """A contact list for outreach."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomGroupMember(models.Model):
    group = models.ForeignKey(CustomGroup, on_delete=models.CASCADE, related_name="members")
    phone = models.CharField(max_length=100)
    name = models.CharField(max_length=200, blank=True, default="")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "phone"], name="member_unique_per_group")
        ]

    def __str__(self) -> str:
        return self.name or self.phone


class Scope(models.TextChoices):
    LEADS_READ = "leads:read"
    LEADS_MANAGE = "leads:manage"
    GROUPS_READ = "groups:read"
    GROUPS_MANAGE = "groups:manage"
    CUSTOM_GROUPS_READ = "custom-groups:read"
    CUSTOM_GROUPS_MANAGE = "custom-groups:manage"
    SESSIONS_READ = "sessions:read"
    SESSIONS_MANAGE = "sessions:manage"


ALL_SCOPES: tuple[str, ...] = tuple(Scope.values)
API_KEY_PREFIX = "mf_"


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def generate_raw_key() -> str:
    """`mf_` and 40 url-safe characters, as upstream keys look."""
    return API_KEY_PREFIX + secrets.token_urlsafe(30)[:40]


class ApiKey(models.Model):
    """A key for the mirror API. Only the SHA-256 of the raw key is kept."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=7, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(
        cls, name: str, scopes: list[str] | None = None, expires_at: datetime | None = None
    ) -> tuple["ApiKey", str]:
        """Create a key; returns it with the raw key, which is never stored or shown again."""
        raw_key = generate_raw_key()
        key = cls.objects.create(
            name=name,
            prefix=raw_key[:7],
            key_hash=hash_api_key(raw_key),
            scopes=list(scopes) if scopes is not None else list(ALL_SCOPES),
            expires_at=expires_at,
        )
        return key, raw_key

    def set_raw_key(self, raw_key: str) -> None:
        self.prefix = raw_key[:7]
        self.key_hash = hash_api_key(raw_key)

    def has_scope(self, scope: str) -> bool:
        """`manage` implies `read` for the same resource."""
        if scope in self.scopes:
            return True
        resource, _, action = scope.partition(":")
        return action == "read" and f"{resource}:manage" in self.scopes

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def last_used_at(self) -> datetime | None:
        """When the key last made a request (kept with its rate-limit window), or None."""
        try:
            return self.usage.last_used_at
        except ApiKeyUsage.DoesNotExist:
            return None


class ApiKeyUsage(models.Model):
    """A key's requests in its current one-minute window: the rate limit, shared by every
    process. One row per key, counted and reset by one upsert per request (`leads.api.auth`),
    so no old windows pile up and none need deleting."""

    api_key = models.OneToOneField(ApiKey, on_delete=models.CASCADE, related_name="usage")
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.api_key_id} @ {self.window_start:%H:%M}: {self.count}"


class ActorKind(models.TextChoices):
    USER = "user", "User"
    API_KEY = "api_key", "API key"
    WEBHOOK = "webhook", "Webhook"
    IMPORT = "import", "Import"
    SYNC = "sync", "Sync"
    SYSTEM = "system", "System"


class LeadStatusChange(models.Model):
    """One row per status change: from, to, when, who and through what."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=STATUS_CHOICES)
    to_status = models.CharField(max_length=16, choices=STATUS_CHOICES)
    changed_at = models.DateTimeField(default=timezone.now)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=200, blank=True, default="")
    reason = models.CharField(max_length=500, blank=True, default="")
    # A bulk change is one entry of the activity page: its rows share `batch`, and the first
    # carries how many leads moved (`batch_size`); the others carry 0. A single change is 1.
    batch = models.UUIDField(null=True, blank=True)
    batch_size = models.PositiveIntegerField(default=1, db_default=1)

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [
            models.Index(fields=["lead", "changed_at"]),
            models.Index(fields=["-changed_at"]),
            models.Index(
                fields=["batch", "id"], condition=Q(batch__isnull=False), name="status_change_batch"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"

    @property
    def actor_name(self) -> str:
        """Who made it, in a word: the label it was made under, the person, or the kind."""
        if self.actor_label:
            return self.actor_label
        if self.user is not None:
            return self.user.get_username()
        return self.get_actor_kind_display()


class SeenGroup(models.Model):
    """A group a session receives messages from but does not monitor: a group to offer.

    Its messages are not stored; only that the group exists and how busy it is, so a manager
    can start monitoring it. `message_count` is approximate: a redelivered webhook counts again.
    """

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="seen_groups")
    wa_group_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200, blank=True, default="")
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    message_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "wa_group_id"], name="seen_group_unique_per_session"
            )
        ]
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return self.name or self.wa_group_id


# --- Team use (issue 7): live events, wall links, login throttle ---------------------------


class LeadEventKind(models.TextChoices):
    CREATED = "created", "Created"
    STATUS_CHANGED = "status_changed", "Status changed"
    # An owner, follow-up or note: what the cards and the lead's page show besides status.
    DETAILS_CHANGED = "details_changed", "Details changed"


class LeadEvent(models.Model):
    """A lead appeared or moved: the cursor every open screen polls (`/live/events`).

    Written in the same transaction as the change (or right after its commit), in the one
    shared database, so a screen served by any process sees it. Only the newest id matters
    to a screen; rows older than `LIVE_EVENTS_KEEP_HOURS` are pruned opportunistically.
    `lead_id` is not a foreign key: an event outlives nothing and must never block a delete.
    """

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=16, choices=LeadEventKind.choices)
    lead_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"#{self.id} {self.kind} {self.lead_id}"


def hash_wall_token(raw_token: str) -> str:
    """What is stored of a wall link's token (and looked up): its SHA-256, in hex."""
    return hashlib.sha256(raw_token.encode()).hexdigest()


class WallLink(models.Model):
    """A revocable, read-only display link for the office screen (`/wall/<token>/`).

    Only the SHA-256 of the token is stored: a link is found by the hash of what the screen
    sends, so the lookup compares nothing secret, and a database leak reveals no live link.
    """

    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    show_full_names = models.BooleanField(default=False)
    show_phones = models.BooleanField(default=False)
    rotate = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def issue(cls, name: str, created_by: Any = None, **options: bool) -> tuple["WallLink", str]:
        """Create a link; returns it with the raw token, which is never stored or shown again."""
        raw_token = secrets.token_urlsafe(32)
        link = cls.objects.create(
            name=name, token_hash=hash_wall_token(raw_token), created_by=created_by, **options
        )
        return link, raw_token

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class LoginThrottle(models.Model):
    """Failed sign-ins for one key (an account at an address, or an address): shared by every
    process. `key` is a SHA-256, so a password typed into the username box is never stored."""

    key = models.CharField(max_length=64, unique=True)
    failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField(default=timezone.now)
    lockouts = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.key[:12]}… {self.failures} failures"


class PasswordChangeRequired(models.Model):
    """A person whose password a manager set: they choose their own at their next sign-in.

    The row goes when they do (`leads.passwords`).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="password_change_required",
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} must change their password"


# --- The million (issue 11): totals kept, not counted -------------------------------------


class LeadTotal(models.Model):
    """How many leads one group holds in one status: kept exact by database triggers.

    Triggers on `leads_lead` (migration 0007) adjust these rows in the same transaction as
    every INSERT, UPDATE and DELETE of leads, whoever writes them — services, ingest, import,
    sync, COPY, the admin — so no page counts the store. `leads.totals.reconcile_totals()`
    rebuilds them from the rows. `group_id` is not a foreign key: a deleted group's leads
    are deleted row by row, which brings its totals to 0 through the same triggers.
    """

    group_id = models.UUIDField()
    status = models.CharField(max_length=16, choices=STATUS_CHOICES)
    total = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group_id", "status"], name="lead_total_per_group")
        ]

    def __str__(self) -> str:
        return f"{self.group_id} {self.status}: {self.total}"


class LeadDayTotal(models.Model):
    """How many leads one group holds in one status, detected on one UTC day.

    Kept like `LeadTotal`, by triggers (migration 0027), and rebuilt by `reconcile_totals()`.
    The API reads them to find which day a deep offset falls in (`leads.api.leads`).
    """

    day = models.DateField()
    group_id = models.UUIDField()
    status = models.CharField(max_length=16, choices=STATUS_CHOICES)
    total = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "group_id", "status"], name="lead_day_total_per_group"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.group_id} {self.status}: {self.total}"


# --- Sales work (issue 16): owners and the lead timeline -----------------------------------
# Our own data beside the source's: keyed by the lead's id, never a foreign key to `Lead`, so
# it works the same for MoltFlow's leads (which the store may not hold) and survives a sync.


class LeadAssignment(models.Model):
    """Who owns a lead. No row means unassigned; the primary key makes "Take it" win once."""

    lead_id = models.UUIDField(primary_key=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lead_assignments"
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["owner", "assigned_at"])]

    def __str__(self) -> str:
        return f"{self.lead_id} → {self.owner_id}"


class LeadFollowUp(models.Model):
    """When someone should get back to a lead. One per lead; no row means none is set."""

    lead_id = models.UUIDField(primary_key=True)
    due_at = models.DateTimeField()
    set_at = models.DateTimeField(default=timezone.now)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["due_at"])]

    def __str__(self) -> str:
        return f"{self.lead_id} due {self.due_at:%Y-%m-%d %H:%M}"


class MessageTemplate(models.Model):
    """A manager's outreach text with placeholders ({first_name}, {keyword}, {group})."""

    name = models.CharField(max_length=100, unique=True)
    body = models.TextField(max_length=2000)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class OutreachPace(models.Model):
    """One row per WhatsApp session, locked while a send is paced, so two sends cannot both
    take the last slot of the minute."""

    session_key = models.CharField(max_length=100, primary_key=True)

    def __str__(self) -> str:
        return self.session_key


class OutreachMessage(models.Model):
    """A WhatsApp message the dashboard sent (or is sending) to a lead: the pacing window's
    rows and the record of what was said."""

    id = models.BigAutoField(primary_key=True)
    lead_id = models.UUIDField()
    session_key = models.CharField(max_length=100)
    chat_id = models.CharField(max_length=100)
    text = models.TextField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["session_key", "sent_at"])]

    def __str__(self) -> str:
        return f"to {self.chat_id} at {self.sent_at:%Y-%m-%d %H:%M}"


class AutoAssignRule(models.Model):
    """New leads of one monitored group go to these reps in turn (round-robin).

    Keyed by the group's id, like our other data beside the leads, so it works for MoltFlow's
    groups too. `turn` counts assignments made; the next rep is `turn` modulo the reps."""

    group_id = models.UUIDField(primary_key=True)
    reps = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+")
    turn = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"auto-assign {self.group_id}"


class TimelineKind(models.TextChoices):
    NOTE = "note", "Note"
    ASSIGNED = "assigned", "Owner changed"
    FOLLOW_UP = "follow_up", "Follow-up set"
    MESSAGE = "message", "Message sent"


class LeadTimelineEntry(models.Model):
    """One thing people did on a lead beside moving it: a note, an owner change, a follow-up,
    a message sent. Status changes stay in `LeadStatusChange`; the lead page merges both."""

    id = models.BigAutoField(primary_key=True)
    lead_id = models.UUIDField()
    kind = models.CharField(max_length=16, choices=TimelineKind.choices)
    text = models.TextField(blank=True, default="")
    # Casefolded `text` of notes, for the table's search (same matching as leads' search_text).
    search_text = models.TextField(blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["lead_id", "-created_at"]),
            models.Index(fields=["-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.lead_id}"


class SecondLookDecision(models.TextChoices):
    PENDING = "", "Not decided"
    LEAD = "lead", "A lead"
    NOT_LEAD = "not_lead", "Not a lead"


class SetAsideMessage(models.Model):
    """A message with a group keyword that intent mode judged not to be a buyer's.

    A manager takes a second look: one click makes it a lead, another agrees it is not. The
    decided rows are labelled examples for the intent detector (`intent_report --reviewed`).
    """

    message = models.OneToOneField(GroupMessage, on_delete=models.CASCADE, related_name="set_aside")
    matched_keyword = models.CharField(max_length=200)
    # Why the detector set it aside ("offers something"); may be empty (no buyer's signal).
    reasons = models.JSONField(default=list, blank=True)
    decision = models.CharField(
        max_length=16,
        choices=SecondLookDecision.choices,
        default=SecondLookDecision.PENDING,
        blank=True,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    lead = models.ForeignKey("Lead", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["decision", "-id"], name="set_aside_by_decision")]

    def __str__(self) -> str:
        return f"{self.matched_keyword}: {self.decision or 'pending'}"


class SyncConflict(models.Model):
    """A lead whose MoltFlow status the sync would not copy, left for a person to settle.

    MoltFlow said `upstream_status`, the store has `local_status`, and the pipeline has no
    step between them (a final status, or a move it forbids). Updated by every sync that
    still sees it; deleted by the first sync that finds the two agreeing or the step allowed.
    """

    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="sync_conflict")
    local_status = models.CharField(max_length=20, choices=STATUS_CHOICES)
    upstream_status = models.CharField(max_length=20, choices=STATUS_CHOICES)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["-last_seen_at"], name="sync_conflict_newest")]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.local_status} here, {self.upstream_status} upstream"


class ImportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """A chat export uploaded for import, run in the background by `leads.import_jobs`.

    While running, the worker holding the lease renews `lease_expires_at` as it goes; a
    lapsed lease means that worker died, and another claims the job and resumes after the
    `messages_done` already committed. `report` is `ImportReport`'s fields once done.
    """

    group = models.ForeignKey(MonitoredGroup, on_delete=models.CASCADE, related_name="imports")
    file_name = models.CharField(max_length=255)
    file_size = models.BigIntegerField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=ImportState.choices, default=ImportState.QUEUED)
    text_bytes = models.BigIntegerField(default=0)
    bytes_checked = models.BigIntegerField(default=0)
    bytes_imported = models.BigIntegerField(default=0)
    messages_done = models.PositiveIntegerField(default=0)
    leads_created = models.PositiveIntegerField(default=0)
    already_imported = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_owner = models.CharField(max_length=100, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["state", "created_at"], name="import_job_queue")]

    def __str__(self) -> str:
        return f"{self.file_name} → {self.group_id} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (ImportState.DONE, ImportState.FAILED)

    @property
    def importing(self) -> bool:
        """Past the first pass over the file (which settles its date order): storing messages."""
        return self.text_bytes > 0 and self.bytes_checked >= self.text_bytes

    @property
    def checked_percent(self) -> int:
        """How much of the first pass (settling the file's date order) is done."""
        return min(100, self.bytes_checked * 100 // self.text_bytes) if self.text_bytes else 0

    @property
    def imported_percent(self) -> int:
        return min(100, self.bytes_imported * 100 // self.text_bytes) if self.text_bytes else 0


class ImportUploadChunk(models.Model):
    """One piece of an import's uploaded file, kept in the database (the one store every app
    process shares) until the import ends; read back one piece at a time."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "seq"], name="import_chunk_unique_seq")
        ]

    def __str__(self) -> str:
        return f"{self.job_id} #{self.seq}"
