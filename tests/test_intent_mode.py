"""Intent mode: a group's buyers become scored leads, with or without a keyword."""

from datetime import timedelta
from itertools import count

import pytest
from django.utils import timezone

from leads.detection import GroupMessageIn, Outcome, compile_matcher, ingest_group_message
from leads.models import Lead
from tests.factories import make_group

_ids = count(1)
pytestmark = pytest.mark.django_db


def message(body: str, phone: str = "+972521234567") -> GroupMessageIn:
    return GroupMessageIn(
        wa_message_id=f"intent-{next(_ids)}",
        sender_jid=f"{phone.lstrip('+')}@c.us",
        sender_phone=phone,
        sender_name="Dana Levi",
        body=body,
        sent_at=timezone.now() - timedelta(minutes=1),
    )


def test_a_buyer_without_a_keyword_becomes_a_scored_lead() -> None:
    group = make_group(mode="intent", keywords=["sofa"])
    outcome = ingest_group_message(group, message("Where can I buy a second-hand PS5?"))
    assert outcome == Outcome.LEAD_CREATED
    lead = Lead.objects.get()
    assert lead.monitor_mode == "intent"
    assert lead.matched_keyword is None
    assert 50 <= lead.lead_score <= 100
    assert lead.lead_reasons == ["asks who sells"]


def test_a_seller_with_the_keyword_is_not_a_lead() -> None:
    group = make_group(mode="intent", keywords=["price"])
    outcome = ingest_group_message(group, message("Selling my iPhone 14, price 2500"))
    assert outcome == Outcome.STORED
    assert not Lead.objects.exists()


def test_a_keyword_behind_a_hebrew_prefix_is_named_on_the_lead() -> None:
    group = make_group(mode="intent", keywords=["מחיר"])
    ingest_group_message(group, message("מה המחיר של הספה?"))
    lead = Lead.objects.get()
    assert lead.matched_keyword == "מחיר"
    assert "mentions “מחיר”" in lead.lead_reasons


def test_keyword_mode_still_makes_unscored_leads_of_sellers() -> None:
    group = make_group(mode="keywords", keywords=["price"])
    ingest_group_message(group, message("Selling my iPhone 14, price 2500"))
    lead = Lead.objects.get()
    assert (lead.lead_score, lead.lead_reasons) == (0, [])


def test_a_second_buyers_message_counts_on_the_same_lead() -> None:
    group = make_group(mode="intent", keywords=[])
    ingest_group_message(group, message("Looking for a fridge"))
    assert ingest_group_message(group, message("How much is it?")) == Outcome.LEAD_COUNTED
    assert Lead.objects.get().message_count == 2


@pytest.mark.parametrize(
    ("keyword", "text"),
    [
        ("מחיר", "מה המחיר?"),
        ("מחיר", "ובמחיר טוב"),
        ("سعر", "كم السعر للكنبة؟"),
        ("سعر", "بالسعر المناسب"),
        ("كنبة", "للكنبة"),
    ],
)
def test_prefix_matching_finds_a_keyword_behind_attached_letters(keyword: str, text: str) -> None:
    assert compile_matcher((keyword,), prefixes=True).first_match(text) == keyword
    # Keyword mode keeps the contract's word boundary.
    assert compile_matcher((keyword,)).first_match(text) is None


def test_prefix_matching_still_needs_the_end_of_the_word() -> None:
    assert compile_matcher(("מחיר",), prefixes=True).first_match("המחירון") is None
