"""Purchase intent: does a group member's message come from someone who wants to buy?

The rule, stated once: a message is a lead when it carries a buyer's signal (wants to buy,
rent or hire; asks who sells; asks for a price; asks whether something is still available)
and nothing that says otherwise — no "no longer looking" or "already bought", no job ad, no
group notice, and no offer (selling, renting out) written before the buyer's words. A buyer's
words are read first and set aside, so "anyone selling a pram?" is a question, not an offer.

The score is 0 for a message that is not a lead; a lead scores from `THRESHOLD` up to 100,
higher for each further kind of buyer's signal, a question, and one of the group's keywords.
The lexicon lives in `leads/intent_rules.py`; `manage.py intent_report` measures it on the
labelled corpus in `leads/intent_corpus/`.
"""

import re
import unicodedata
from dataclasses import dataclass

from leads import intent_rules as rules
from leads.detection import MARK_PLANES, boundary_pattern, normalise_text

THRESHOLD = 50
_BASE_SCORE = 60
_BONUS = 10

# Spelling variants that are one letter to a reader: Arabic ta marbuta and alif maqsura, the
# Arabic question mark and comma, typographic apostrophes.
_VARIANTS = str.maketrans({"ة": "ه", "ى": "ي", "؟": "?", "،": ",", "’": "'", "‘": "'"})


# The variants, and every combining character (accents, hamza above and below) dropped: one
# `str.translate` pass after decomposition.
_FOLDS = {
    **{cp: None for plane in MARK_PLANES for cp in plane if unicodedata.combining(chr(cp))},
    **_VARIANTS,
}


def _drop_marks(text: str) -> str:
    return unicodedata.normalize("NFKD", text).translate(_FOLDS)


def fold(text: str) -> str:
    """The form the lexicon is matched in: detection's normal form, without accents or hamza
    seats ("cuánto" = "cuanto", "أريد" = "اريد", "нашёл" = "нашел")."""
    return _fold_normalised(normalise_text(text))


def _fold_normalised(text: str) -> str:
    return text.translate(_VARIANTS) if text.isascii() else _drop_marks(text)


def _compile(fragments: list[str], followed_by: str = "") -> re.Pattern[str]:
    alternation = "|".join(f"(?:{_drop_marks(fragment)})" for fragment in fragments)
    return re.compile(boundary_pattern(alternation) + followed_by)


def _all_languages(by_language: dict[str, list[str]]) -> list[str]:
    return [fragment for fragments in by_language.values() for fragment in fragments]


# Read in this order: the more specific buyer's phrases claim their words first.
_POSITIVE: tuple[tuple[str, re.Pattern[str]], ...] = (
    (rules.ASKS_WHO_SELLS, _compile(_all_languages(rules.POSITIVE[rules.ASKS_WHO_SELLS]))),
    (rules.WANTS_TO_HIRE, _compile(_all_languages(rules.POSITIVE[rules.WANTS_TO_HIRE]))),
    (rules.ASKS_PRICE, _compile(_all_languages(rules.POSITIVE[rules.ASKS_PRICE]))),
    # Only when a question mark follows in the same sentence.
    (rules.ASKS_AVAILABLE, _compile(_all_languages(rules.AVAILABLE_QUESTION), r"(?=[^.!\n]*\?)")),
    (rules.WANTS_TO_BUY, _compile(_all_languages(rules.POSITIVE[rules.WANTS_TO_BUY]))),
)
_BLOCKERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (reason, _compile(_all_languages(rules.NEGATIVE[reason])))
    for reason in (rules.NO_LONGER, rules.JOB_AD, rules.ADMIN)
)
_OFFER = _compile(_all_languages(rules.NEGATIVE[rules.OFFERS]))
_RENT = _compile(rules.RENT_WORDS)
WANTS_TO_RENT = "wants to rent"


@dataclass(frozen=True)
class IntentVerdict:
    """How much a message reads like a buyer's (0–100), and why."""

    score: int
    reasons: tuple[str, ...]

    @property
    def is_lead(self) -> bool:
        return self.score >= THRESHOLD


def _word_before(text: str, position: int) -> str:
    words = text[:position].split()
    return words[-1].strip(",.!") if words else ""


def judge_intent(text: str, keyword: str | None = None) -> IntentVerdict:
    """Judge one message; `keyword` is the group keyword it matched, if any (raises the score)."""
    return judge_normalised(normalise_text(text), keyword)


def judge_normalised(normalised: str, keyword: str | None = None) -> IntentVerdict:
    """`judge_intent` of a message already in detection's normal form (`normalise_text`)."""
    folded = _fold_normalised(normalised)
    found: list[tuple[int, str]] = []
    rest = folded
    for reason, pattern in _POSITIVE:
        spans = [match.span() for match in pattern.finditer(rest)]
        for start, end in spans:
            found.append((start, reason))
            rest = rest[:start] + " " * (end - start) + rest[end:]
    negated = any(_word_before(folded, start) in rules.NEGATORS for start, _ in found)
    blocked = tuple(reason for reason, pattern in _BLOCKERS if pattern.search(rest))
    if negated and rules.NO_LONGER not in blocked:
        blocked = (rules.NO_LONGER, *blocked)
    if blocked:
        return IntentVerdict(0, blocked)
    offer = _OFFER.search(rest)
    if not found or (offer is not None and offer.start() < min(start for start, _ in found)):
        return IntentVerdict(0, (rules.OFFERS,) if offer else ())
    reasons = list(dict.fromkeys(reason for _, reason in sorted(found)))
    if rules.WANTS_TO_BUY in reasons and _RENT.search(folded):
        reasons[reasons.index(rules.WANTS_TO_BUY)] = WANTS_TO_RENT
    score = _BASE_SCORE + _BONUS * (len(reasons) - 1)
    if "?" in folded:
        score += _BONUS
    if keyword:
        score += _BONUS
        reasons.append(f"mentions “{keyword}”")
    return IntentVerdict(min(score, 100), tuple(reasons))
