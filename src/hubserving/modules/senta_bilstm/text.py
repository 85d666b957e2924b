"""From review text to the model's character ids; shared by serving and ``training/senta_bilstm``.

Pure Python: no framework is imported here, so training and serving agree by construction.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

VOCAB_FILE = "vocab.txt"
PAD = "<pad>"
UNKNOWN = "<unk>"
# Longer texts are cut: 98 % of the training reviews are shorter, and it bounds a call's cost.
MAX_CHARS = 256
_WHITESPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC (full-width to half-width), lower case, whitespace runs as one space, cut to ``MAX_CHARS``."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return _WHITESPACE.sub(" ", folded).strip()[:MAX_CHARS] or " "


class Vocab:
    """Character -> id; id 0 pads, id 1 stands for any character not in the vocabulary."""

    def __init__(self, tokens: tuple[str, ...]) -> None:
        self.tokens = tokens
        self._ids = {token: index for index, token in enumerate(tokens)}

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int) -> Vocab:
        """Characters seen at least ``min_count`` times in the normalised texts, most frequent first."""
        counts = Counter(char for text in texts for char in normalize(text))
        frequent = [token for token, count in counts.items() if count >= min_count]
        return cls((PAD, UNKNOWN, *sorted(frequent, key=lambda token: (-counts[token], token))))

    @classmethod
    def load(cls, path: Path) -> Vocab:
        """Read one token a line (the line number is its id)."""
        tokens = tuple(path.read_text(encoding="utf-8").removesuffix("\n").split("\n"))
        if len(tokens) < 3 or tokens[:2] != (PAD, UNKNOWN):
            raise ValueError(f"{path} is not a senta_bilstm vocabulary: it must start with {PAD}, {UNKNOWN}")
        return cls(tokens)

    def save(self, path: Path) -> None:
        path.write_text("".join(token + "\n" for token in self.tokens), encoding="utf-8")

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        """The ids of ``normalize(text)``'s characters (an empty text is one space)."""
        return [self._ids.get(char, 1) for char in normalize(text)]
