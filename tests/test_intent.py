"""Purchase intent: buyers are leads; sellers, job ads, the done and notices are not."""

import io

import pytest
from django.core.management import call_command

from leads.intent import THRESHOLD, fold, judge_intent
from leads.intent_corpus import LANGUAGES, load_split

# From issue 17: every one of these was a lead under keyword matching and is not a buyer.
NOT_BUYERS = [
    "Selling my iPhone 14, price 2500",
    "FOR SALE: sofa, great condition, DM if interested",
    "מוכר אייפון 13, מחיר 1800",
    "Продаю iPhone 13, цена 1800",
    "Сдаю квартиру, цена 5000",
    "Verkaufe mein iPhone 13, Preis 500 Euro",
    "Not interested anymore",
    "no longer looking for a flat, found one",
    "כבר לא מחפש",
    "Уже не ищу",
    "Suche nicht mehr",
    "لم أعد أبحث",
    "We are hiring! Looking for a junior developer",
    "Reminder: group rules, no price lists",
    "I recommend everyone to read the pinned message",
]
# From issue 17: buyers that keyword matching missed.
BUYERS = [
    "מה המחיר של הספה?",
    "كم السعر للكنبة؟",
    "Does anyone have a Toyota Corolla 2019 for sale? Cash buyer",
    "Where can I buy a second-hand PS5?",
    "how much do you want for the desk?",
    "Кто продаёт детскую кроватку? Куплю",
    "Hat jemand ein Kinderbett zu verkaufen? Ich kaufe",
    "هل يوجد أحد يبيع سرير أطفال مستعمل؟ أريد الشراء",
]


@pytest.mark.parametrize("text", BUYERS)
def test_it_takes_a_buyer_for_a_lead(text: str) -> None:
    verdict = judge_intent(text)
    assert verdict.is_lead
    assert THRESHOLD <= verdict.score <= 100
    assert verdict.reasons


@pytest.mark.parametrize("text", NOT_BUYERS)
def test_it_sets_aside_what_is_not_a_buyer(text: str) -> None:
    verdict = judge_intent(text)
    assert not verdict.is_lead
    assert verdict.score == 0


def test_it_says_why() -> None:
    assert judge_intent("What's the price of the sofa?").reasons == ("asks for a price",)
    assert judge_intent("Looking to buy a fridge").reasons == ("wants to buy",)
    assert judge_intent("Looking for a flat to rent").reasons == ("wants to rent",)
    assert "offers something" in judge_intent("Selling my bike").reasons


def test_a_question_about_selling_is_a_buyers_question() -> None:
    assert judge_intent("Anyone selling a pram?").is_lead
    assert judge_intent("Is the table still available?").is_lead
    # The same words as a seller's answer are not.
    assert not judge_intent("Yes it's still available, DM me").is_lead


def test_a_negated_wish_is_not_a_lead() -> None:
    assert judge_intent("I need a fridge").is_lead
    assert not judge_intent("I don't need a fridge anymore").is_lead
    assert not judge_intent("לא צריך יותר, תודה").is_lead


def test_a_keyword_raises_the_score_and_is_named() -> None:
    plain = judge_intent("Looking for a sofa")
    focused = judge_intent("Looking for a sofa", keyword="sofa")
    assert focused.score > plain.score
    assert focused.reasons[-1] == "mentions “sofa”"


def test_fold_drops_accents_and_hamza_seats() -> None:
    assert fold("¿Cuánto?") == "¿cuanto?"
    assert fold("أريد") == fold("اريد")
    assert fold("нашёл") == "нашел"


def test_the_corpus_has_both_parts_in_every_language() -> None:
    for split in ("tune", "measure"):
        examples = load_split(split)
        assert len(examples) >= 200
        for lang in LANGUAGES:
            mine = [e for e in examples if e.lang == lang]
            assert sum(e.lead for e in mine) >= 15
            assert sum(not e.lead for e in mine) >= 15
    tune = {e.text for e in load_split("tune")}
    assert not tune & {e.text for e in load_split("measure")}


def test_intent_report_prints_precision_and_recall_per_language() -> None:
    out = io.StringIO()
    call_command("intent_report", stdout=out)
    lines = out.getvalue().splitlines()
    assert "measure split (216 messages)" in lines[0]
    assert [line.split()[0] for line in lines[2:]] == [*LANGUAGES, "all"]
