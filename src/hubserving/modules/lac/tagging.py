"""From the model's per-token tags to words and tags (``LacModel.parse_result`` in LAC/models.py)."""

from __future__ import annotations

from collections.abc import Sequence


def expand_tags(token_tags: Sequence[str], lengths: Sequence[int]) -> list[str]:
    """One tag per character: a token covering n characters gets its tag, then n-1 ``X-I``."""
    char_tags: list[str] = []
    for tag, length in zip(token_tags, lengths, strict=True):
        char_tags.append(tag)
        if length > 1:
            char_tags.extend([tag[:-2] + "-I"] * (length - 1))
    return char_tags


def group_words(text: str, char_tags: Sequence[str]) -> tuple[list[str], list[str]]:
    """Join characters into words: a word starts at a ``-B`` or ``-S`` tag (or at the first
    character) and takes the tag of its last character, less its two-character suffix.
    """
    starts: list[int] = []
    tags: list[str] = []
    for index, tag in enumerate(char_tags):
        if not starts or tag.endswith("B") or tag.endswith("S"):
            starts.append(index)
            tags.append(tag[:-2])
        else:
            tags[-1] = tag[:-2]
    ends = [*starts[1:], len(char_tags)]
    return [text[start:end] for start, end in zip(starts, ends, strict=True)], tags
