"""Lead detection: keyword matching in any script, monitor modes, one lead per contact."""

import random
import threading
import time
from datetime import timedelta
from itertools import count

import pytest
from django.db import connection, transaction
from django.utils import timezone

from leads.detection import (
    GroupMessageIn,
    Outcome,
    clean_keywords,
    compile_matcher,
    ingest_group_message,
)
from leads.management.commands.bench_detection import keyword_set, message_stream, naive_matcher
from leads.models import GroupMessage, Lead, LeadStatusChange
from tests.factories import make_group

_ids = count(1)


def first_match(keywords: list[str], text: str) -> str | None:
    return compile_matcher(tuple(keywords)).first_match(text)


def message(
    body: str,
    *,
    phone: str | None = "+972521234567",
    jid: str | None = None,
    name: str = "Dana Levi",
    from_me: bool = False,
    message_id: str | None = None,
) -> GroupMessageIn:
    return GroupMessageIn(
        wa_message_id=message_id or f"msg-{next(_ids)}",
        sender_jid=jid or f"{(phone or '').lstrip('+')}@c.us",
        sender_phone=phone,
        sender_name=name,
        body=body,
        sent_at=timezone.now() - timedelta(minutes=1),
        from_me=from_me,
    )


# --- Matching ------------------------------------------------------------------------------


def test_it_matches_a_keyword_in_any_case():
    assert first_match(["price"], "What is the PRICE?") == "price"
    assert first_match(["Price"], "price please") == "Price"


def test_it_does_not_match_a_keyword_inside_a_longer_word():
    assert first_match(["price"], "This ring is priceless") is None
    assert first_match(["price"], "overpriced, no thanks") is None
    assert first_match(["price"], "prices?") is None


def test_a_digit_next_to_a_keyword_is_part_of_the_word_but_punctuation_is_not():
    assert first_match(["price"], "price2") is None
    assert first_match(["price"], "2price") is None
    assert first_match(["price"], "(price)") == "price"
    assert first_match(["price"], "price_list") == "price"
    assert first_match(["price"], "#price!") == "price"


def test_it_matches_a_phrase_across_extra_spaces_and_line_breaks():
    assert first_match(["looking for"], "Hi all,\nLooking   for\na 3-bedroom") == "looking for"
    assert first_match(["looking for"], "looking\u00a0for a flat") == "looking for"


def test_it_does_not_match_a_phrase_whose_words_are_apart():
    assert first_match(["looking for"], "looking at the offer for now") is None
    assert first_match(["looking for"], "looking forward to it") is None


def test_it_matches_hebrew_on_word_boundaries():
    keywords = ["מחיר", "מחפש דירה"]
    assert first_match(keywords, "מה המחיר?") is None  # "the price" is another word
    assert first_match(keywords, "מחיר? מישהו יודע") == "מחיר"
    assert first_match(keywords, "שלום, אני מחפש   דירה בתל אביב") == "מחפש דירה"
    assert first_match(keywords, "מחירים עלו") is None


def test_it_matches_hebrew_written_with_vowel_points_and_direction_marks():
    assert first_match(["מחיר"], "\u200fמְחִיר\u200f טוב") == "מחיר"


def test_it_matches_arabic_with_or_without_harakat_and_tatweel():
    assert first_match(["سعر"], "كم سِعْرُ الشقة؟") == "سعر"
    assert first_match(["سعر"], "كم ســعر الشقة؟") == "سعر"
    assert first_match(["سعر"], "السعر مرتفع") is None  # with the article it is another word


def test_it_matches_cyrillic_in_any_case():
    assert first_match(["цена"], "Какая ЦЕНА квартиры?") == "цена"
    assert first_match(["цена"], "Ценами не интересуюсь") is None


def test_it_matches_latin_accents_composed_or_decomposed():
    assert first_match(["café"], "Un CAFE\u0301 noir") == "café"
    assert first_match(["cafe\u0301"], "un café") == "cafe\u0301"
    assert first_match(["café"], "un cafe") is None
    assert first_match(["straße"], "STRASSE 5") == "straße"


def test_it_matches_compatibility_forms_after_nfkc():
    assert first_match(["price"], "ｐｒｉｃｅ？") == "price"
    assert first_match(["fine"], "all ﬁne") == "fine"


def test_the_earliest_keyword_in_the_message_wins():
    keywords = ["price", "looking for", "budget"]
    assert first_match(keywords, "Budget 5000, looking for a price") == "budget"
    assert first_match(keywords, "looking for a flat, what price?") == "looking for"


def test_the_longest_keyword_wins_at_the_same_position():
    assert first_match(["looking", "looking for"], "looking for a flat") == "looking for"
    assert first_match(["looking for", "looking"], "looking at flats") == "looking"


def test_a_shorter_keyword_matches_when_the_longer_one_runs_into_a_word():
    assert first_match(["price", "price list"], "send the price listing") == "price"


def test_keywords_are_matched_literally_not_as_patterns():
    assert first_match(["c++", "$100", "a.b"], "I know C++ well") == "c++"
    assert first_match(["$100"], "only $100 per night") == "$100"
    assert first_match(["a.b"], "axb") is None


def test_empty_emoji_only_and_right_to_left_messages_do_not_break_matching():
    keywords = ["price", "מחיר"]
    for text in ["", "   ", "👍🙏😂", "🏠🏠🏠 ✨", "\u200f\u200e", "שלום 👋 עולם"]:
        assert first_match(keywords, text) is None


def test_a_group_without_keywords_matches_nothing():
    assert first_match([], "price") is None
    assert first_match(["  ", ""], "price") is None


def test_a_keyword_set_compiles_once():
    keywords = ("price", "budget")
    assert compile_matcher(keywords) is compile_matcher(keywords)


def test_it_agrees_with_a_search_keyword_by_keyword_over_a_mixed_script_stream():
    rng = random.Random(3)
    keywords = keyword_set(100, rng)
    stream = message_stream(2000, keywords, rng)
    naive = naive_matcher(keywords)
    matcher = compile_matcher(tuple(keywords))

    results = [matcher.first_match(text) for text in stream]

    assert results == [naive(text) for text in stream]
    assert sum(result is not None for result in results) > 50


def test_a_thousand_keywords_compile_into_one_matcher_that_agrees_with_the_naive_search():
    # Its speed (messages/s against the naive loop) is `bash dev.sh bench`'s to measure.
    rng = random.Random(5)
    keywords = keyword_set(1000, rng)
    stream = message_stream(400, keywords, rng)
    naive = naive_matcher(keywords)
    compile_matcher.cache_clear()

    matcher = compile_matcher(tuple(keywords))
    results = [matcher.first_match(text) for text in stream]

    assert results == [naive(text) for text in stream]
    assert sum(result is not None for result in results) > 10


def test_clean_keywords_drops_blanks_and_repeats_in_any_case_or_spacing():
    assert clean_keywords(["Price", " price ", "", "looking  for", "Looking for", "מחיר"]) == [
        "Price",
        "looking for",
        "מחיר",
    ]


# --- Leads from messages -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_keyword_message_becomes_a_new_lead_with_its_trigger():
    group = make_group(keywords=["looking for", "price"])

    outcome = ingest_group_message(group, message("Hi! Looking for a 3-bedroom, what's the price?"))

    assert outcome == Outcome.LEAD_CREATED
    lead = Lead.objects.get()
    assert lead.source_group == group
    assert lead.lead_status == "new"
    assert lead.contact_phone == "+972521234567"
    assert lead.contact_jid == "972521234567@c.us"
    assert lead.contact_name == "Dana Levi"
    assert lead.matched_keyword == "looking for"
    assert lead.message_preview == "Hi! Looking for a 3-bedroom, what's the price?"
    assert lead.monitor_mode == "keywords"
    assert lead.message_count == 1
    assert lead.lead_score == 0
    assert "dana levi" in lead.search_text
    assert "972521234567" in lead.search_text
    assert "looking for" in lead.search_text


@pytest.mark.django_db
def test_a_message_without_a_keyword_is_stored_but_makes_no_lead():
    group = make_group(keywords=["price"])

    outcome = ingest_group_message(group, message("Good morning everyone"))

    assert outcome == Outcome.STORED
    assert GroupMessage.objects.filter(group=group).count() == 1
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_a_lead_starts_new_without_any_status_history():
    group = make_group(keywords=["price"])

    ingest_group_message(group, message("price?"))

    assert Lead.objects.get().lead_status == "new"
    assert not LeadStatusChange.objects.exists()


@pytest.mark.django_db
def test_later_matching_messages_raise_the_count_and_change_nothing_else():
    group = make_group(keywords=["price", "budget"])
    ingest_group_message(group, message("What's the price?", name="Dana"))
    before = Lead.objects.get()

    outcome = ingest_group_message(group, message("My budget is 5000", name="Dana L."))
    ingest_group_message(group, message("no keyword here", name="Dana L."))

    assert outcome == Outcome.LEAD_COUNTED
    after = Lead.objects.get()
    assert after.message_count == 2
    assert (after.contact_name, after.matched_keyword, after.message_preview) == (
        "Dana",
        "price",
        "What's the price?",
    )
    assert after.lead_detected_at == before.lead_detected_at
    assert after.updated_at == before.updated_at


@pytest.mark.django_db
def test_the_same_contact_in_two_groups_makes_two_leads():
    first, second = make_group(keywords=["price"]), make_group(keywords=["price"])

    ingest_group_message(first, message("price?"))
    ingest_group_message(second, message("price?"))

    assert Lead.objects.count() == 2


@pytest.mark.django_db
def test_a_redelivered_message_is_stored_once_and_counted_once():
    group = make_group(keywords=["price"])
    ingest_group_message(group, message("price?", message_id="wamid-1"))
    ingest_group_message(group, message("price again", message_id="wamid-2"))

    outcome = ingest_group_message(group, message("price again", message_id="wamid-2"))

    assert outcome == Outcome.DUPLICATE
    assert GroupMessage.objects.count() == 2
    assert Lead.objects.get().message_count == 2


@pytest.mark.django_db
def test_the_accounts_own_messages_never_become_leads():
    for mode in ["keywords", "first_message", "all"]:
        group = make_group(keywords=["price"], mode=mode)

        outcome = ingest_group_message(group, message("price list attached", from_me=True))

        assert outcome == Outcome.STORED
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_first_message_mode_takes_only_a_members_first_message():
    group = make_group(mode="first_message", keywords=[])

    first = ingest_group_message(group, message("Hello, I just joined"))
    later = ingest_group_message(group, message("Anyone selling a sofa?"))
    other_member = ingest_group_message(group, message("Hi", phone="+15550001111"))

    assert (first, later, other_member) == (
        Outcome.LEAD_CREATED,
        Outcome.STORED,
        Outcome.LEAD_CREATED,
    )
    lead = Lead.objects.get(contact_phone="+972521234567")
    assert (lead.message_preview, lead.message_count, lead.matched_keyword) == (
        "Hello, I just joined",
        1,
        None,
    )
    assert lead.monitor_mode == "first_message"


@pytest.mark.django_db
def test_first_message_mode_ignores_a_member_already_seen_before_the_switch():
    group = make_group(mode="keywords", keywords=["price"])
    ingest_group_message(group, message("hello"))
    group.monitor_mode = "first_message"
    group.save()

    outcome = ingest_group_message(group, message("second message"))

    assert outcome == Outcome.STORED
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_all_mode_takes_every_message_and_counts_them_on_one_lead():
    group = make_group(mode="all", keywords=[])

    outcomes = [ingest_group_message(group, message(text)) for text in ["hi", "", "👍"]]

    assert outcomes == [Outcome.LEAD_CREATED, Outcome.LEAD_COUNTED, Outcome.LEAD_COUNTED]
    lead = Lead.objects.get()
    assert (lead.message_count, lead.message_preview, lead.monitor_mode) == (3, "hi", "all")


@pytest.mark.django_db
def test_the_preview_is_the_message_cut_to_500_characters():
    group = make_group(keywords=["price"])
    text = "price " + "ש" * 1000

    ingest_group_message(group, message(text))

    assert Lead.objects.get().message_preview == text[:500]


@pytest.mark.django_db
def test_a_contact_with_a_hidden_number_keeps_the_jid_and_no_phone():
    group = make_group(keywords=["price"])

    ingest_group_message(group, message("price?", phone=None, jid="123456789012345@lid"))
    ingest_group_message(group, message("price!", phone=None, jid="123456789012345@lid"))

    lead = Lead.objects.get()
    assert (lead.contact_jid, lead.contact_phone, lead.message_count) == (
        "123456789012345@lid",
        None,
        2,
    )


@pytest.mark.django_db
def test_a_nameless_sender_makes_a_lead_without_a_name():
    group = make_group(keywords=["price"])

    ingest_group_message(group, message("price?", name=""))

    assert Lead.objects.get().contact_name is None


@pytest.mark.django_db
def test_a_message_from_the_future_is_detected_now_not_later():
    group = make_group(keywords=["price"])
    future = message("price?")
    future = GroupMessageIn(**{**future.__dict__, "sent_at": timezone.now() + timedelta(days=3)})

    ingest_group_message(group, future)

    assert Lead.objects.get().lead_detected_at <= timezone.now()


@pytest.mark.django_db
def test_a_new_lead_is_announced_once_after_commit(django_capture_on_commit_callbacks):
    group = make_group(keywords=["price"])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ingest_group_message(group, message("price?"))
        ingest_group_message(group, message("price again"))

    assert len(callbacks) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
def test_a_lead_created_by_a_concurrent_delivery_is_counted_not_duplicated():
    group = make_group(keywords=["price"])
    first_inserted = threading.Event()
    outcomes: dict[str, Outcome] = {}

    def slow_first() -> None:
        try:
            with transaction.atomic():
                outcomes["first"] = ingest_group_message(group, message("price?"))
                first_inserted.set()
                # Hold the uncommitted lead while the second delivery reaches its INSERT.
                time.sleep(0.5)
        finally:
            connection.close()

    def second() -> None:
        try:
            first_inserted.wait(timeout=10)
            outcomes["second"] = ingest_group_message(group, message("price again"))
        finally:
            connection.close()

    threads = [threading.Thread(target=slow_first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcomes == {"first": Outcome.LEAD_CREATED, "second": Outcome.LEAD_COUNTED}
    assert Lead.objects.get().message_count == 2
