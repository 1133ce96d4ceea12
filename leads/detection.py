"""Lead detection: keyword matching, and turning a group member's message into a lead.

Matching (CONTRACT §1): case-insensitive and Unicode-normalised (NFKC, then casefold), on word
boundaries in any script, multi-word keywords matched as phrases. A keyword matches where it
is neither preceded nor followed by a Unicode letter or digit, so "price" does not match
"priceless" and "מחיר" does not match "המחיר" (Hebrew's attached prefixes make a different
word; a team that wants "המחיר" adds it as its own keyword). Intent mode matches with
`prefixes=True`: a Hebrew or Arabic keyword may then carry the one-letter prefixes those
languages attach (Hebrew ה ו ב ל מ ש כ, up to three; Arabic و ف, then ب ك ل and the article
ال), so "מחיר" finds "המחיר" and "سعر" finds "السعر" and "بالسعر".

Besides NFKC and casefold, both the keywords and the message lose what changes how a word
looks but not which word it is: non-spacing combining marks (Hebrew niqqud, Arabic harakat —
writers add them inconsistently), Arabic tatweel, and invisible direction and zero-width marks.
Runs of whitespace count as one space, so a phrase matches across a line break.

A group's keywords are compiled once into one regular expression — a trie of the keywords,
so that at each position of a message only the keywords starting with that letter are tried —
and the compiled matcher is cached per keyword set. `manage.py bench_detection` measures it.

Lead creation is race-free: the unique constraint (contact, group) decides, and a message
that finds the lead already there raises its `message_count` with one UPDATE … SET
message_count = message_count + 1 and touches nothing else.

Two ways in, one judgement (`Detector`): `ingest_group_message` stores and judges one message
(the webhook), `ingest_group_messages` a chunk of one group's messages in one transaction
(the chat import): one INSERT for the chunk, one for what it sets aside, one look-up of the
senders' leads and one UPDATE per distinct count, so its cost grows with the leads it
creates, not with the messages. `manage.py bench_ingest` measures both.
"""

import enum
import functools
import re
import unicodedata
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from leads.events import announce_lead_created, announce_leads_created
from leads.models import (
    GroupMessage,
    Lead,
    MonitoredGroup,
    MonitorMode,
    SetAsideMessage,
    build_search_text,
)

# Longer keywords cannot be stored in `Lead.matched_keyword` (200 characters), so they are
# refused when typed and ignored when matching.
MAX_KEYWORD_LENGTH = 200
PREVIEW_LENGTH = 500


# Arabic tatweel, zero-width space, direction marks and embeddings, byte-order mark.
_INVISIBLE = "\u0640\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff"


# Combining and non-spacing marks only live in planes 0, 1 and 14: scanning just those for
# them keeps import fast.
MARK_PLANES = (range(0x0, 0x20000), range(0xE0000, 0xE1000))


def _ignorable_characters() -> str:
    """A regex character class of what normalisation removes (see the module docstring)."""
    marks = [cp for plane in MARK_PLANES for cp in plane if unicodedata.category(chr(cp)) == "Mn"]
    ranges: list[str] = []
    start = previous = marks[0]
    for cp in [*marks[1:], -1]:
        if cp == previous + 1:
            previous = cp
            continue
        ranges.append(chr(start) if previous == start else f"{chr(start)}-{chr(previous)}")
        start = previous = cp
    return "[" + "".join(ranges) + _INVISIBLE + "]+"


_IGNORABLE = re.compile(_ignorable_characters())
# A letter or a digit in any script: `\w` without the underscore.
_WORD_CHAR = r"[^\W_]"


def normalise_text(text: str) -> str:
    """The form both messages and keywords are compared in (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if not text.isascii():
        text = _IGNORABLE.sub("", text)
    return " ".join(text.split())


def clean_keywords(keywords: Iterable[str]) -> list[str]:
    """Keywords as typed, whitespace tidied, blanks and repeats (same normalised form) dropped."""
    kept: dict[str, str] = {}
    for keyword in keywords:
        tidy = " ".join(keyword.split())
        key = normalise_text(tidy)
        if key and key not in kept:
            kept[key] = tidy
    return list(kept.values())


def boundary_pattern(body: str) -> str:
    """`body` (a regex) wrapped so it only matches between non-letters and non-digits."""
    return f"(?<!{_WORD_CHAR})(?:{body})(?!{_WORD_CHAR})"


def _trie_pattern(words: Iterable[str]) -> str:
    """One regex alternation shaped as a trie: shared prefixes are tried once.

    At a node where a keyword ends and longer ones continue, the longer branches come first
    and the empty alternative last, so the longest keyword starting at a position wins and
    the regex engine backtracks to a shorter one when the longer fails its word boundary.
    """
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}  # the end-of-keyword marker

    def pattern(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + pattern(child) for ch, child in node.items() if ch]
        if not branches:
            return ""
        if len(branches) == 1 and "" not in node:
            return branches[0]
        return "(?:" + "|".join(branches) + ("|)" if "" in node else ")")

    return pattern(trie)


# The letters Hebrew and Arabic attach to the front of a word (see the module docstring).
_PREFIXES = "(?:[הובלמשכ]{1,3}|[وف]?(?:[بك]?ال|لل|[بكل]))?"


@dataclass(frozen=True)
class KeywordMatcher:
    """A compiled keyword set: finds the first keyword in a message, or None."""

    pattern: re.Pattern[str] | None
    # Normalised keyword -> the keyword as the team typed it (what `matched_keyword` shows).
    keywords: Mapping[str, str]

    def first_match(self, text: str) -> str | None:
        """The keyword found earliest in `text` (the longest one at that position), as typed."""
        return self.first_match_normalised(normalise_text(text))

    def first_match_normalised(self, normalised: str) -> str | None:
        """`first_match` of a text already in the normal form (`normalise_text`)."""
        if self.pattern is None or not normalised:
            return None
        match = self.pattern.search(normalised)
        return self.keywords[match.group("keyword")] if match else None


@functools.lru_cache(maxsize=512)
def compile_matcher(keywords: tuple[str, ...], *, prefixes: bool = False) -> KeywordMatcher:
    """Compile a keyword set once; cached by the tuple, so each group's set compiles once.

    With `prefixes`, a keyword also matches behind Hebrew and Arabic attached prefixes.
    """
    by_normalised: dict[str, str] = {}
    for keyword in keywords:
        key = normalise_text(keyword)
        if key and len(key) <= MAX_KEYWORD_LENGTH and key not in by_normalised:
            by_normalised[key] = " ".join(keyword.split())
    if not by_normalised:
        return KeywordMatcher(pattern=None, keywords={})
    body = f"(?P<keyword>{_trie_pattern(by_normalised)})"
    compiled = re.compile(boundary_pattern(_PREFIXES + body if prefixes else body))
    return KeywordMatcher(pattern=compiled, keywords=by_normalised)


def matcher_for_group(group: MonitoredGroup, *, prefixes: bool = False) -> KeywordMatcher:
    """The compiled matcher of a group's current keywords."""
    keywords = group.monitor_keywords if isinstance(group.monitor_keywords, list) else []
    return compile_matcher(tuple(k for k in keywords if isinstance(k, str)), prefixes=prefixes)


def clean_text(text: str, limit: int | None = None) -> str:
    """User text made storable: NUL characters dropped (PostgreSQL refuses them), cut to limit."""
    text = text.replace("\x00", "")
    return text[:limit] if limit is not None else text


# --- Lead creation --------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupMessageIn:
    """A message seen in a monitored group, from a webhook or an imported chat export."""

    wa_message_id: str
    sender_jid: str
    sender_phone: str | None
    sender_name: str
    body: str
    sent_at: datetime
    from_me: bool = False


class Outcome(enum.StrEnum):
    DUPLICATE = "duplicate"  # this message id was stored before: nothing changed
    STORED = "stored"  # stored, and it makes no lead
    LEAD_CREATED = "lead_created"
    LEAD_COUNTED = "lead_counted"  # the contact's lead in this group had its message_count raised


def group_message_row(group: MonitoredGroup, message: GroupMessageIn) -> GroupMessage:
    """The (unsaved) row that stores `message` for `group`."""
    return GroupMessage(
        group=group,
        wa_message_id=message.wa_message_id,
        sender_jid=message.sender_jid,
        sender_phone=message.sender_phone,
        sender_name=clean_text(message.sender_name, 200),
        body=clean_text(message.body),
        from_me=message.from_me,
        sent_at=message.sent_at,
    )


def ingest_group_message(group: MonitoredGroup, message: GroupMessageIn) -> Outcome:
    """Store a monitored group's message once per message id, then run detection on it.

    A message id seen before changes nothing, so a redelivered webhook or a re-imported
    export cannot count a message twice.
    """
    stored = group_message_row(group, message)
    # No savepoint of its own inside a caller's transaction (the webhook's): an error
    # rolls back the caller's whole transaction anyway.
    with transaction.atomic(savepoint=False):
        # Insert first and let the unique constraint judge: one statement for a new message
        # (nearly all of them), and race-free against a concurrent redelivery.
        try:
            with transaction.atomic():
                stored.save(force_insert=True)
        except IntegrityError:
            seen = GroupMessage.objects.filter(group=group, wa_message_id=message.wa_message_id)
            if seen.exists():
                return Outcome.DUPLICATE
            raise
        return detect_lead(group, message, stored_message_id=stored.pk)


def ingest_group_messages(
    group: MonitoredGroup, messages: Sequence[GroupMessageIn]
) -> list[Outcome]:
    """`ingest_group_message` for a batch of one group's messages, in one transaction.

    The same outcomes, in order, with a fixed number of statements per batch for the messages
    that make no lead (the ids already stored, one INSERT of the new messages, one of what is
    set aside, the senders' leads, one UPDATE per distinct count) and a few per new lead.
    An id repeated within the batch is a redelivery, stored once. Callers pass chunks of a
    few hundred messages (the chat import's `CHUNK_SIZE`).

    The group's mode and keywords are read afresh for each batch, so a change made while a
    long import runs applies from its next chunk.
    """
    with transaction.atomic():
        group.refresh_from_db(fields=["monitor_mode", "monitor_keywords"])
        ids = [message.wa_message_id for message in messages]
        known = set(
            GroupMessage.objects.filter(group=group, wa_message_id__in=ids).values_list(
                "wa_message_id", flat=True
            )
        )
        new: dict[str, GroupMessageIn] = {}
        for message in messages:
            if message.wa_message_id not in known:
                new.setdefault(message.wa_message_id, message)
        rows = [group_message_row(group, message) for message in new.values()]
        try:
            with transaction.atomic():
                stored = GroupMessage.objects.bulk_create(rows)
        except IntegrityError:
            stored = []
        if len(stored) != len(new) or any(row.pk is None for row in stored):
            # Another delivery of some of them got there first (or the database cannot
            # return the new ids): go message by message, which judges each id on its own.
            return [ingest_group_message(group, message) for message in messages]
        pks = [row.pk for row in stored]
        outcomes = dict(zip(new, _detect_batch(group, list(new.values()), pks), strict=True))
        # The first occurrence of a new id takes its outcome; the rest are duplicates.
        return [outcomes.pop(message_id, Outcome.DUPLICATE) for message_id in ids]


@dataclass(frozen=True)
class Judgement:
    """What a message makes under its group's mode, judged before anything is written."""

    makes_lead: bool
    keyword: str | None = None
    score: int = 0
    reasons: tuple[str, ...] = ()
    # On topic (it matched a keyword) but not a buyer's: kept for a manager's second look.
    set_aside: bool = False


class Detector:
    """A group's monitor mode and compiled keywords, read once, judging many messages.

    It reads the group as loaded: a batch is judged by one keyword set, and the next batch
    or webhook, which loads the group again, by the keywords as they are then. The compiled
    matcher is cached by the keywords themselves (`compile_matcher`), so a changed keyword
    set compiles anew and an unchanged one is never compiled twice.
    """

    def __init__(self, group: MonitoredGroup) -> None:
        self.mode = group.monitor_mode
        self.matcher = matcher_for_group(group, prefixes=self.mode == MonitorMode.INTENT)

    def judge(self, message: GroupMessageIn) -> Judgement:
        """Pure: no database. `first_message` mode still has to ask the member's history."""
        if message.from_me:
            return Judgement(makes_lead=False)
        if self.mode == MonitorMode.KEYWORDS:
            keyword = self.matcher.first_match(message.body)
            return Judgement(makes_lead=keyword is not None, keyword=keyword)
        if self.mode == MonitorMode.INTENT:
            # Imported here: the intent rules build on this module's normal form.
            from leads.intent import judge_normalised

            # Normalised once for both the keywords and the intent rules.
            normalised = normalise_text(message.body)
            keyword = self.matcher.first_match_normalised(normalised)
            verdict = judge_normalised(normalised, keyword)
            return Judgement(
                makes_lead=verdict.is_lead,
                keyword=keyword,
                score=verdict.score,
                reasons=verdict.reasons,
                set_aside=not verdict.is_lead and keyword is not None,
            )
        return Judgement(makes_lead=self.mode in (MonitorMode.FIRST_MESSAGE, MonitorMode.ALL))


def _set_aside_row(message_id: int, judgement: Judgement) -> SetAsideMessage:
    return SetAsideMessage(
        message_id=message_id,
        matched_keyword=(judgement.keyword or "")[:200],
        reasons=list(judgement.reasons),
    )


def detect_lead(
    group: MonitoredGroup, message: GroupMessageIn, *, stored_message_id: int | None = None
) -> Outcome:
    """Create or count the lead this message makes under the group's monitor mode.

    `stored_message_id` is the message's own row: `first_message` mode asks whether the
    member has a message stored before it.
    """
    judgement = Detector(group).judge(message)
    if judgement.set_aside and stored_message_id is not None:
        _set_aside_row(stored_message_id, judgement).save(force_insert=True)
    if not judgement.makes_lead:
        return Outcome.STORED
    if group.monitor_mode == MonitorMode.FIRST_MESSAGE:
        earlier = GroupMessage.objects.filter(
            group=group, sender_jid=message.sender_jid, from_me=False
        )
        if stored_message_id is not None:
            # Rows are numbered in the order they were stored, so "before" is a smaller id
            # (this also holds for an import that stores a batch of messages at once).
            earlier = earlier.filter(pk__lt=stored_message_id)
        if earlier.exists():
            return Outcome.STORED
        # Only the first message makes the lead; later ones are not "matching messages".
        return _create_or_count(group, message, judgement, count_existing=False)
    return _create_or_count(group, message, judgement, count_existing=True)


@dataclass(frozen=True)
class _Candidate:
    """A stored message of a batch that makes (or counts on) a lead."""

    index: int
    message: GroupMessageIn
    message_id: int
    judgement: Judgement


def _detect_batch(
    group: MonitoredGroup, messages: Sequence[GroupMessageIn], message_ids: Sequence[int]
) -> list[Outcome]:
    """`detect_lead` for a batch's newly stored messages (`message_ids` are their rows)."""
    detector = Detector(group)
    judged = [detector.judge(message) for message in messages]
    SetAsideMessage.objects.bulk_create(
        _set_aside_row(message_id, judgement)
        for message_id, judgement in zip(message_ids, judged, strict=True)
        if judgement.set_aside
    )
    candidates = [
        _Candidate(index, message, message_id, judgement)
        for index, (message, message_id, judgement) in enumerate(
            zip(messages, message_ids, judged, strict=True)
        )
        if judgement.makes_lead
    ]
    count_existing = group.monitor_mode != MonitorMode.FIRST_MESSAGE
    if not count_existing:
        candidates = _first_messages(group, candidates)
    outcomes = [Outcome.STORED] * len(messages)
    for index, outcome in _leads_from(group, candidates, count_existing=count_existing):
        outcomes[index] = outcome
    return outcomes


def _senders(candidates: list[_Candidate]) -> set[str]:
    return {candidate.message.sender_jid for candidate in candidates}


def _first_messages(group: MonitoredGroup, candidates: list[_Candidate]) -> list[_Candidate]:
    """Each member's first message: none stored before the batch, and the first within it."""
    if not candidates:
        return []
    earlier = GroupMessage.objects.filter(
        group=group, sender_jid__in=_senders(candidates), from_me=False
    ).filter(pk__lt=min(candidate.message_id for candidate in candidates))
    seen = set(earlier.values_list("sender_jid", flat=True).distinct())
    first = []
    for candidate in candidates:
        if candidate.message.sender_jid not in seen:
            seen.add(candidate.message.sender_jid)
            first.append(candidate)
    return first


def _leads_from(
    group: MonitoredGroup, candidates: list[_Candidate], *, count_existing: bool
) -> list[tuple[int, Outcome]]:
    """Create the leads a batch's candidates make, or count them, in the batch's order.

    One SELECT finds which senders have a lead; a new lead is inserted as its first message
    comes; the counts are added at the end, one UPDATE per distinct increment.
    """
    if not candidates:
        return []
    leads = Lead.objects.filter(source_group=group, contact_jid__in=_senders(candidates))
    with_lead = set(leads.values_list("contact_jid", flat=True))
    counts: Counter[str] = Counter()
    outcomes = []
    created: list[uuid.UUID] = []
    for candidate in candidates:
        jid = candidate.message.sender_jid
        if jid in with_lead:
            if count_existing:
                counts[jid] += 1
            outcomes.append(
                (candidate.index, Outcome.LEAD_COUNTED if count_existing else Outcome.STORED)
            )
            continue
        outcome = _create_lead(
            group,
            candidate.message,
            candidate.judgement,
            count_existing=count_existing,
            created=created,
        )
        with_lead.add(jid)
        outcomes.append((candidate.index, outcome))
    by_increment: dict[int, list[str]] = {}
    for jid, increment in counts.items():
        by_increment.setdefault(increment, []).append(jid)
    for increment, jids in by_increment.items():
        Lead.objects.filter(source_group=group, contact_jid__in=jids).update(
            message_count=F("message_count") + increment
        )
    if created:
        transaction.on_commit(lambda: announce_leads_created(created))
    return outcomes


def lead_from_message(
    group: MonitoredGroup,
    message: GroupMessageIn,
    keyword: str | None,
    *,
    score: int,
    reasons: tuple[str, ...],
) -> Outcome:
    """Make `message` a lead whatever the group's mode says (a manager's second look), or
    count it on the contact's lead in this group when there is one."""
    judgement = Judgement(makes_lead=True, keyword=keyword, score=score, reasons=reasons)
    return _create_or_count(group, message, judgement, count_existing=True)


def _create_or_count(
    group: MonitoredGroup, message: GroupMessageIn, judgement: Judgement, *, count_existing: bool
) -> Outcome:
    existing = Lead.objects.filter(source_group=group, contact_jid=message.sender_jid)
    if count_existing:
        if existing.update(message_count=F("message_count") + 1):
            return Outcome.LEAD_COUNTED
    elif existing.exists():
        return Outcome.STORED
    return _create_lead(group, message, judgement, count_existing=count_existing)


def _create_lead(
    group: MonitoredGroup,
    message: GroupMessageIn,
    judgement: Judgement,
    *,
    count_existing: bool,
    created: list[uuid.UUID] | None = None,
) -> Outcome:
    """Insert the contact's lead in this group; when a concurrent delivery created it first,
    count the message on it instead (or, for `first_message`, leave it).

    The new lead is announced after commit, or, given `created`, added to it for the caller
    to announce with the rest of its batch.
    """
    existing = Lead.objects.filter(source_group=group, contact_jid=message.sender_jid)
    name = clean_text(message.sender_name, 200).strip() or None
    now = timezone.now()
    lead = Lead(
        source_group=group,
        contact_jid=message.sender_jid,
        contact_phone=message.sender_phone,
        contact_name=name,
        matched_keyword=judgement.keyword,
        message_preview=clean_text(message.body, PREVIEW_LENGTH),
        monitor_mode=group.monitor_mode,
        lead_score=judgement.score,
        lead_reasons=list(judgement.reasons),
        # A message stamped in the future (a phone with a wrong clock) is detected now.
        lead_detected_at=min(message.sent_at, now),
        search_text=build_search_text(name, message.sender_phone, judgement.keyword),
        created_at=now,
        updated_at=now,
    )
    try:
        with transaction.atomic():
            lead.save(force_insert=True)
    except IntegrityError:
        # Another delivery created this contact's lead between our UPDATE and INSERT.
        if not existing.exists():
            raise
        if count_existing:
            existing.update(message_count=F("message_count") + 1)
            return Outcome.LEAD_COUNTED
        return Outcome.STORED
    lead_id = lead.id
    if created is None:
        transaction.on_commit(lambda: announce_lead_created(lead_id))
    else:
        created.append(lead_id)
    return Outcome.LEAD_CREATED
