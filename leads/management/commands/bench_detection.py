"""Measure keyword detection: messages per second with 10, 100 and 1,000 keywords.

Pure-Python matching only (no database; `bench_ingest` measures ingest with its writes).
Four detectors run over the same generated multi-script message stream in the same process:

- trie: what keyword mode uses, one compiled regex shaped as a trie of the keywords;
- flat: one alternation of the keywords sorted longest-first;
- naive: one regex per keyword, every keyword searched in every message;
- intent: what intent mode runs, the trie behind Hebrew and Arabic prefixes, then the
  purchase-intent rules (`leads.intent.judge_intent`) on every message.

The first three must agree on every message (the command fails if they do not), so their
numbers compare equal work; intent mode does more, and is still compared with the naive loop.
"""

import random
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.bench import BenchRow, print_table, row
from leads.detection import boundary_pattern, compile_matcher, normalise_text
from leads.intent import IntentVerdict, judge_intent

# Everyday words in the scripts the groups write in, plus emoji and numbers.
_FILLER = {
    "latin": (
        "the a is for with my we you can anyone know good great please thanks today tomorrow "
        "flat house room city centre near school park parking balcony floor quiet sunny "
        "bonjour merci très été café déjà hola gracias mañana niño año"
    ).split(),
    "hebrew": "שלום תודה דירה חדר עיר מרכז ליד בית ספר חניה מרפסת קומה שקט היום מחר בבקשה".split(),
    "arabic": "مرحبا شكرا شقة غرفة مدينة قريب مدرسة موقف شرفة طابق هادئ اليوم غدا من فضلك".split(),
    "cyrillic": (
        "привет спасибо квартира комната город центр рядом школа парковка балкон этаж"
    ).split(),
    "other": "👍 🙏 😂 🏠 ✨ 2 3 4 100 5000 ₪ $ € ? ! , ...".split(),
}
# Real keywords a team would set; the rest of each keyword set is made of invented words.
_REAL_KEYWORDS = [
    "price", "looking for", "for rent", "how much", "available", "interested", "budget",
    "מחיר", "מחפש", "להשכרה", "כמה עולה", "سعر", "للإيجار", "أبحث عن", "цена", "ищу",
    "сколько стоит", "precio", "busco", "à louer",
]  # fmt: skip
_SYLLABLES = {
    "latin": "ka lo mi ré tu sa ve no pi da ro ze li fa mu".split(),
    "hebrew": "בא לו מי רה תו סה וה נו פי דה רו זה לי פה מו".split(),
    "arabic": "با لو مي ري تو سا في نو بي دا رو زا لي فا مو".split(),
    "cyrillic": "ка ло ми ре ту са ве но пи да ро зе ли фа му".split(),
}


def keyword_set(size: int, rng: random.Random) -> list[str]:
    """`size` distinct keywords: the real ones first, then invented words and phrases."""
    keywords = list(_REAL_KEYWORDS[:size])
    seen = {normalise_text(k) for k in keywords}
    scripts = list(_SYLLABLES)
    while len(keywords) < size:
        syllables = _SYLLABLES[rng.choice(scripts)]
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if rng.random() < 0.2:
            word += " " + "".join(rng.choice(syllables) for _ in range(2))
        if normalise_text(word) not in seen:
            seen.add(normalise_text(word))
            keywords.append(word)
    return keywords


def message_stream(count: int, keywords: Sequence[str], rng: random.Random) -> list[str]:
    """Group-chat-like messages; about one in twenty carries one of `keywords`."""
    scripts = list(_FILLER)
    messages = []
    for _ in range(count):
        script = rng.choice(scripts[:4])
        words = [
            rng.choice(_FILLER[script] if rng.random() < 0.85 else _FILLER["other"])
            for _ in range(rng.randint(4, 30))
        ]
        if rng.random() < 0.05:
            words.insert(rng.randrange(len(words) + 1), rng.choice(keywords).upper())
        messages.append(" ".join(words))
    return messages


def naive_matcher(keywords: Sequence[str]) -> Callable[[str], str | None]:
    """One compiled regex per keyword; the earliest (then longest) match wins."""
    patterns = [
        (keyword, re.compile(boundary_pattern(re.escape(normalise_text(keyword)))))
        for keyword in keywords
    ]

    def first_match(text: str) -> str | None:
        normalised = normalise_text(text)
        best: tuple[int, int, str] | None = None
        for keyword, pattern in patterns:
            match = pattern.search(normalised)
            if match and (best is None or (match.start(), -len(match.group())) < best[:2]):
                best = (match.start(), -len(match.group()), keyword)
        return best[2] if best else None

    return first_match


def flat_matcher(keywords: Sequence[str]) -> Callable[[str], str | None]:
    """One alternation of the keywords, longest first."""
    by_normalised = {normalise_text(keyword): keyword for keyword in keywords}
    ordered = sorted(by_normalised, key=len, reverse=True)
    pattern = re.compile(boundary_pattern("|".join(re.escape(k) for k in ordered)))

    def first_match(text: str) -> str | None:
        match = pattern.search(normalise_text(text))
        return by_normalised[match.group()] if match else None

    return first_match


def intent_detector(keywords: Sequence[str]) -> Callable[[str], IntentVerdict]:
    """Intent mode's whole judgement of a message: the keywords matched behind attached
    prefixes, then the purchase-intent rules (a keyword raises the score)."""
    matcher = compile_matcher(tuple(keywords), prefixes=True)

    def judge(text: str) -> IntentVerdict:
        return judge_intent(text, matcher.first_match(text))

    return judge


def _chunk_rate(match: Callable[[str], Any], chunk: Sequence[str], results: list[Any]) -> float:
    """Messages per second over one chunk; the answers are appended to `results`."""
    started = time.perf_counter()
    results.extend(match(message) for message in chunk)
    return len(chunk) / (time.perf_counter() - started)


def measure(
    messages: int, seed: int, sizes: Sequence[int], log: Callable[[str], object], chunks: int = 20
) -> list[BenchRow]:
    """Throughput rows for the trie and the flat alternation, each next to the naive loop.

    The stream is cut into `chunks` pieces and the three matchers take turns on each piece,
    so load on the machine hits all three alike and each gets a median and a slow tail.
    """
    rows = []
    for size in sizes:
        rng = random.Random(seed + size)
        keywords = keyword_set(size, rng)
        stream = message_stream(messages, keywords, rng)
        compile_matcher.cache_clear()
        started = time.perf_counter()
        trie = compile_matcher(tuple(keywords)).first_match
        compile_ms = (time.perf_counter() - started) * 1000
        matchers = {
            "trie": trie,
            "flat": flat_matcher(keywords),
            "naive": naive_matcher(keywords),
            "intent": intent_detector(keywords),
        }
        rates: dict[str, list[float]] = {name: [] for name in matchers}
        results: dict[str, list[Any]] = {name: [] for name in matchers}
        step = max(1, -(-len(stream) // max(1, chunks)))  # ceiling division
        for begin in range(0, len(stream), step):
            chunk = stream[begin : begin + step]
            for name, match in matchers.items():
                rates[name].append(_chunk_rate(match, chunk, results[name]))
        if not results["trie"] == results["flat"] == results["naive"]:
            raise CommandError(f"The matchers disagree with {size} keywords.")
        matched = sum(result is not None for result in results["trie"])
        log(
            f"Detection: {size} keywords compiled in {compile_ms:.1f} ms; "
            f"{matched} of {len(stream):,} messages matched."
        )
        naive = f"naive loop, {size} kw"
        rows.append(
            row(f"detection, {size} keywords (trie)", "msg/s", rates["trie"], naive, rates["naive"])
        )
        rows.append(
            row(
                f"detection, {size} keywords (flat alternation)",
                "msg/s",
                rates["flat"],
                naive,
                rates["naive"],
            )
        )
        rows.append(
            row(
                f"detection, {size} keywords (intent mode)",
                "msg/s",
                rates["intent"],
                naive,
                rates["naive"],
            )
        )
    return rows


class Command(BaseCommand):
    help = "Print keyword-detection throughput (messages/second) against a naive matcher."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--messages", type=int, default=20_000, help="messages per run")
        parser.add_argument("--seed", type=int, default=7, help="random seed for the stream")
        parser.add_argument(
            "--sizes", type=int, nargs="+", default=[10, 100, 1000], help="keyword-set sizes"
        )

    def handle(
        self, *args: Any, messages: int, seed: int, sizes: list[int], **options: Any
    ) -> None:
        self.stdout.write(
            f"Keyword detection over {messages:,} generated messages (Latin, Hebrew, Arabic, "
            "Cyrillic, emoji), pure Python, no database. Higher is better; the p95 column is "
            "the slowest 5% of chunks."
        )
        print_table(measure(messages, seed, sizes, self.stdout.write), self.stdout.write)
