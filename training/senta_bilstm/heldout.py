"""Write the held-out sample that tests/test_senta_bilstm.py scores through a running server.

    python -m training.senta_bilstm.heldout        # rewrites tests/data/senta_heldout.jsonl

The first 400 reviews of the held-out split (already shuffled with the training seed): none of them,
in any spelling, is in the training or dev data.
"""

from __future__ import annotations

import json
from pathlib import Path

from .data import load_reviews, split_reviews
from .train import REPO, Settings

SAMPLE_SIZE = 400
SAMPLE_FILE = REPO / "tests" / "data" / "senta_heldout.jsonl"


def write_sample(path: Path = SAMPLE_FILE, size: int = SAMPLE_SIZE) -> None:
    settings = Settings()
    reviews, _, _ = load_reviews()
    split = split_reviews(reviews, settings.seed, settings.test_fraction, settings.dev_fraction)
    lines = [json.dumps({"label": r.label, "text": r.text}, ensure_ascii=False) for r in split.test[:size]]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


if __name__ == "__main__":
    write_sample()
