"""The module's own logic, in a file of its own: module.py imports it relatively."""

from __future__ import annotations

import re
from collections import Counter

WORD = re.compile(r"\w+")


def count_words(text: str, lowercase: bool, top_k: int) -> dict[str, object]:
    """Characters, words, and the ``top_k`` most frequent words of one text."""
    words = WORD.findall(text.lower() if lowercase else text)
    top = Counter(words).most_common(top_k)
    return {"chars": len(text), "words": len(words), "top": [[word, count] for word, count in top]}
