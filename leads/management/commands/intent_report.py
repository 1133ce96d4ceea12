"""Precision and recall of the intent detector per language, on the labelled corpus.

    python manage.py intent_report                 # the measuring part (the honest numbers)
    python manage.py intent_report --split tune    # the part the rules were tuned on
    python manage.py intent_report --errors        # also list every message judged wrongly
    python manage.py intent_report --reviewed      # managers' second-look decisions, as
                                                   # corpus lines to add to tune.jsonl

Precision: of the messages judged leads, how many are buyers. Recall: of the buyers, how many
were judged leads. Target on the measuring part: both at least 0.9 in every language.
"""

import json
from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandParser

from leads.intent import judge_intent
from leads.intent_corpus import LANGUAGES, SPLITS, Example, load_split
from leads.models import SecondLookDecision, SetAsideMessage


@dataclass
class Tally:
    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0
    true_neg: int = 0

    def add(self, expected: bool, judged: bool) -> None:
        if judged and expected:
            self.true_pos += 1
        elif judged:
            self.false_pos += 1
        elif expected:
            self.false_neg += 1
        else:
            self.true_neg += 1

    @property
    def precision(self) -> float:
        judged = self.true_pos + self.false_pos
        return self.true_pos / judged if judged else 1.0

    @property
    def recall(self) -> float:
        buyers = self.true_pos + self.false_neg
        return self.true_pos / buyers if buyers else 1.0


def tally_by_language(examples: list[Example]) -> tuple[dict[str, Tally], list[Example]]:
    """Per-language counts, and the examples the detector got wrong."""
    tallies = {lang: Tally() for lang in LANGUAGES}
    wrong = []
    for example in examples:
        judged = judge_intent(example.text).is_lead
        tallies.setdefault(example.lang, Tally()).add(example.lead, judged)
        if judged != example.lead:
            wrong.append(example)
    return tallies, wrong


class Command(BaseCommand):
    help = "Print the intent detector's precision and recall per language on the corpus."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--split", choices=SPLITS, default="measure")
        parser.add_argument("--errors", action="store_true", help="list misjudged messages")
        parser.add_argument(
            "--reviewed",
            action="store_true",
            help="print the second-look decisions as corpus lines (JSONL) instead",
        )

    def handle(self, *args: object, **options: object) -> None:
        if options["reviewed"]:
            self.print_reviewed()
            return
        split = str(options["split"])
        examples = load_split(split)
        tallies, wrong = tally_by_language(examples)
        self.stdout.write(f"intent detector on the {split} split ({len(examples)} messages)")
        self.stdout.write(f"{'lang':<6}{'n':>5}{'TP':>5}{'FP':>5}{'FN':>5}  precision  recall")
        total = Tally()
        for lang, tally in tallies.items():
            n = tally.true_pos + tally.false_pos + tally.false_neg + tally.true_neg
            self.stdout.write(
                f"{lang:<6}{n:>5}{tally.true_pos:>5}{tally.false_pos:>5}{tally.false_neg:>5}"
                f"  {tally.precision:>9.2f}  {tally.recall:>6.2f}"
            )
            for field in ("true_pos", "false_pos", "false_neg", "true_neg"):
                setattr(total, field, getattr(total, field) + getattr(tally, field))
        self.stdout.write(
            f"{'all':<6}{len(examples):>5}{total.true_pos:>5}{total.false_pos:>5}"
            f"{total.false_neg:>5}  {total.precision:>9.2f}  {total.recall:>6.2f}"
        )
        if options["errors"]:
            for example in wrong:
                verdict = judge_intent(example.text)
                label = "missed buyer" if example.lead else "false lead"
                self.stdout.write(
                    f"{example.lang} {label} [{example.kind}] {example.text!r} -> {verdict}"
                )

    def print_reviewed(self) -> None:
        """Every decided set-aside message as a corpus line; the language is left to the
        person who adds it to the corpus (`lang` empty)."""
        decided = (
            SetAsideMessage.objects.exclude(decision=SecondLookDecision.PENDING)
            .select_related("message")
            .order_by("id")
        )
        for item in decided.iterator():
            line = {
                "lang": "",
                "lead": item.decision == SecondLookDecision.LEAD,
                "kind": "second-look",
                "text": item.message.body,
            }
            self.stdout.write(json.dumps(line, ensure_ascii=False))
