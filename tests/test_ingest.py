"""Ingest at volume: a batch gives what one message at a time gives, in a few statements.

`ingest_group_messages` (the chat import's inner loop) stores a chunk with a fixed number of
statements, plus a few per new lead; the webhook path pays a handful per message. A changed
keyword applies from the next message or chunk. No timings here: `manage.py bench_ingest`
measures speed.
"""

from collections.abc import Callable
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads import chat_import
from leads.chat_import import import_chat_export
from leads.detection import (
    GroupMessageIn,
    Outcome,
    compile_matcher,
    ingest_group_message,
    ingest_group_messages,
)
from leads.models import (
    GroupMessage,
    Lead,
    LeadEvent,
    LeadEventKind,
    MonitoredGroup,
    SetAsideMessage,
)
from tests.factories import make_group, make_session
from tests.webhooks import post_waha

pytestmark = pytest.mark.django_db
_ids = count(1)


def message(
    body: str, member: int = 1, *, message_id: str | None = None, from_me: bool = False
) -> GroupMessageIn:
    phone = f"+97252000{member:04d}"
    return GroupMessageIn(
        wa_message_id=message_id or f"ingest-{next(_ids)}",
        sender_jid=f"{phone[1:]}@c.us",
        sender_phone=phone,
        sender_name=f"Member {member}",
        body=body,
        sent_at=timezone.now() - timedelta(minutes=5),
        from_me=from_me,
    )


# Members 1-4 write; member 1 and 2 already wrote (and 1 made a lead) before the stream.
HISTORY = [message("Looking for a sofa, what's the price?", 1), message("hello all", 2)]
STREAM = [
    message("Good morning everyone", 3),
    message("Selling my sofa, price 300", 2),  # a seller on topic: set aside in intent mode
    message("Anyone selling a sofa? price?", 3),
    message("how much is the table?", 1),
    message("price?", 4, message_id="repeated-id"),
    message("price?", 4, message_id="repeated-id"),  # delivered twice in the batch
    message("price list attached", 4, from_me=True),
    message("Where can I buy a PS5?", 4),
    message("מחפש ספה, מה המחיר?", 2),
    message("thanks", 3),
    message("price for the sofa?", 3),
]


def state(group: MonitoredGroup) -> dict[str, object]:
    """What ingest left behind for `group`, comparable across groups."""
    leads = Lead.objects.filter(source_group=group).order_by("contact_jid")
    return {
        "messages": sorted(GroupMessage.objects.filter(group=group).values_list("wa_message_id")),
        "leads": [
            (
                lead.contact_jid,
                lead.contact_name,
                lead.message_count,
                lead.matched_keyword,
                lead.lead_score,
                lead.lead_reasons,
                lead.message_preview,
                lead.monitor_mode,
            )
            for lead in leads
        ],
        "set_aside": sorted(
            SetAsideMessage.objects.filter(message__group=group).values_list(
                "message__wa_message_id", "matched_keyword", "reasons"
            )
        ),
    }


@pytest.mark.parametrize("mode", ["keywords", "intent", "first_message", "all"])
def test_a_batch_ends_as_the_same_messages_one_by_one_would(mode: str) -> None:
    one_by_one = make_group(mode=mode, keywords=["price", "sofa"])
    batched = make_group(mode=mode, keywords=["price", "sofa"])
    for group in (one_by_one, batched):
        for item in HISTORY:
            ingest_group_message(group, item)

    expected = [ingest_group_message(one_by_one, item) for item in STREAM]
    outcomes = ingest_group_messages(batched, STREAM)

    assert outcomes == expected
    assert state(batched) == state(one_by_one)
    assert Outcome.LEAD_CREATED in outcomes and Outcome.DUPLICATE in outcomes


def test_a_batch_stored_before_is_all_duplicates_and_changes_nothing() -> None:
    group = make_group(mode="intent", keywords=["price", "sofa"])
    ingest_group_messages(group, STREAM)
    before = state(group)

    again = ingest_group_messages(group, STREAM)

    assert again == [Outcome.DUPLICATE] * len(STREAM)
    assert state(group) == before


def export(lines: int, lead_every: int = 0) -> bytes:
    """An Android export of `lines` messages from ten members; with `lead_every`, every
    n-th is member 1's "price?" (one lead, counted again and again)."""
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(days=2)
    rows = []
    for n in range(lines):
        sent = start + timedelta(minutes=n)
        member, text = (1, "price?") if lead_every and n % lead_every == 0 else (n % 10, f"hi {n}")
        rows.append(f"{sent:%d/%m/%Y, %H:%M} - +97252000{member:04d}: {text}")
    return "\n".join(rows).encode()


def statements_to_import(group: MonitoredGroup, data: bytes) -> int:
    with CaptureQueriesContext(connection) as queries:
        import_chat_export(group, data)
    return len(queries)


@pytest.mark.parametrize("mode", ["keywords", "intent"])
def test_an_import_costs_statements_per_chunk_not_per_message(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setattr(chat_import, "CHUNK_SIZE", 20)
    small, large = make_group(mode=mode), make_group(mode=mode)
    # 40 and 200 messages: 2 and 10 chunks, one lead, counted 9 and 49 more times.
    statements_small = statements_to_import(small, export(40, lead_every=4))
    statements_large = statements_to_import(large, export(200, lead_every=4))

    assert Lead.objects.get(source_group=large).message_count == 50
    # Five times the messages cost a fixed number more per extra chunk, not per message: the
    # group's keywords, the ids already stored, the INSERT in its savepoint, the senders'
    # leads, the counts' UPDATE, the batch's savepoint, and the import's chunk transaction
    # (which commits a job's progress with its chunk) as one more savepoint in the test's.
    per_chunk = (statements_large - statements_small) / 8
    assert per_chunk <= 11, (statements_small, statements_large)
    assert statements_large <= 10 * 12  # ten chunks of 20: well under one per message


def test_a_lead_counted_many_times_in_a_chunk_costs_one_update() -> None:
    group = make_group(keywords=["price"])
    ingest_group_message(group, message("price?", 7))
    batch = [message(f"price {n}?", 7) for n in range(30)]

    with CaptureQueriesContext(connection) as queries:
        outcomes = ingest_group_messages(group, batch)

    assert outcomes == [Outcome.LEAD_COUNTED] * 30
    assert Lead.objects.get(source_group=group).message_count == 31
    updates = [query for query in queries if query["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    assert len(queries) <= 9  # as for any chunk: see the test above


def test_a_chunks_new_leads_are_announced_after_commit_in_one_insert(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    group = make_group(keywords=["price"])
    batch = [message("price?", member) for member in range(1, 6)]

    with CaptureQueriesContext(connection) as queries:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            ingest_group_messages(group, batch)

    assert len(callbacks) == 1
    announced = set(LeadEvent.objects.filter(kind=LeadEventKind.CREATED).values_list("lead_id"))
    assert announced == set(Lead.objects.filter(source_group=group).values_list("id"))
    assert len(announced) == 5
    inserts = [
        query for query in queries if query["sql"].startswith('INSERT INTO "leads_leadevent"')
    ]
    assert len(inserts) == 1


def envelope(group: MonitoredGroup, body: str, message_id: str, member: int = 1) -> dict:
    return {
        "event": "message",
        "session": group.session.name,
        "me": {"id": "15550009999@c.us"},
        "payload": {
            "id": message_id,
            "timestamp": int(timezone.now().timestamp()) - 60,
            "from": group.wa_group_id,
            "fromMe": False,
            "participant": f"97252000{member:04d}@c.us",
            "body": body,
            "_data": {"notifyName": f"Member {member}"},
        },
    }


def test_a_webhook_message_that_makes_no_lead_costs_two_queries_and_a_savepoint() -> None:
    group = make_group(make_session("ingest"), keywords=["price"])
    client = Client()
    post_waha(client, envelope(group, "hello", "warm-up"))  # the session learns its number

    with CaptureQueriesContext(connection) as queries:
        response = post_waha(client, envelope(group, "good morning", "wamid-1"))

    assert response.json()["result"] == "stored"
    # The group with its session, and the message's INSERT in a savepoint (a redelivery's
    # unique violation must not abort the transaction). The outer SAVEPOINT and RELEASE are
    # the webhook's transaction, nested in the test's own.
    statements = [query["sql"].split()[0] for query in queries]
    assert statements == [
        "SAVEPOINT",
        "SELECT",
        "SAVEPOINT",
        "INSERT",
        "RELEASE",
        "RELEASE",
    ]


def test_a_changed_keyword_takes_effect_on_the_next_webhook_message() -> None:
    group = make_group(make_session("ingest"), keywords=["sofa"])
    client = Client()
    assert post_waha(client, envelope(group, "price?", "w-1")).json()["result"] == "stored"

    MonitoredGroup.objects.filter(pk=group.pk).update(monitor_keywords=["price"])

    assert post_waha(client, envelope(group, "price?", "w-2")).json()["result"] == "lead_created"
    assert post_waha(client, envelope(group, "a sofa?", "w-3", 2)).json()["result"] == "stored"


def test_a_changed_keyword_takes_effect_on_the_next_chunk_of_a_running_import() -> None:
    group = make_group(keywords=["sofa"])
    assert ingest_group_messages(group, [message("price?", 1)]) == [Outcome.STORED]

    # Changed elsewhere (a manager on the groups page) while `group` is held by the import.
    MonitoredGroup.objects.filter(pk=group.pk).update(monitor_keywords=["price"])

    assert ingest_group_messages(group, [message("price?", 2)]) == [Outcome.LEAD_CREATED]
    assert ingest_group_messages(group, [message("sofa?", 3)]) == [Outcome.STORED]


def test_an_unchanged_keyword_set_is_not_compiled_again_by_the_next_batch() -> None:
    group = make_group(keywords=["price", "sofa"])
    ingest_group_messages(group, [message("price?", 1)])
    misses = compile_matcher.cache_info().misses

    ingest_group_messages(group, [message(f"sofa {n}?", n) for n in range(2, 30)])
    ingest_group_message(group, message("price again", 40))

    assert compile_matcher.cache_info().misses == misses
