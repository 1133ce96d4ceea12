"""The labelled purchase-intent corpus (see README.md) and a loader for it."""

import json
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent
SPLITS = ("tune", "measure")
LANGUAGES = ("en", "he", "ar", "ru", "de", "es")


@dataclass(frozen=True)
class Example:
    lang: str
    lead: bool
    kind: str
    text: str


def load_split(split: str) -> list[Example]:
    """The examples of one split (`tune` or `measure`)."""
    if split not in SPLITS:
        raise ValueError(f"Unknown split: {split!r}")
    with open(CORPUS_DIR / f"{split}.jsonl", encoding="utf-8") as lines:
        return [Example(**json.loads(line)) for line in lines if line.strip()]
