"""LAC's coarse pre-segmentation, which decides which characters reach the model as one id.

A port of ``LAC/segment.py`` + ``LAC/prefix_tree.py`` that keeps their exact behaviour, quirks
included: a dictionary word scores ``log(len(word)) - log(total count)`` (the counts in
``small_seg.dic`` only enter through their total), a character outside the dictionary scores
``log(1) - log(total)``, the best-scoring path wins, ties go to the longer first word, and runs of
single ASCII letters/digits are glued back into one token.
"""

from __future__ import annotations

import string
from math import log
from pathlib import Path

ASCII_ALNUM = frozenset(string.ascii_letters + string.digits)


class Segmenter:
    """Maximum-score segmentation over a word list, as LAC's ``Segment.fast_cut``."""

    def __init__(self, words: list[str], log_total: float) -> None:
        self._single_score = log(1) - log_total
        # word -> its score; a proper prefix of a word that is not itself a word -> None.
        self._scores: dict[str, float | None] = {}
        for word in words:
            for end in range(1, len(word)):
                self._scores.setdefault(word[:end], None)
        for word in words:
            self._scores[word] = log(len(word)) - log_total

    @classmethod
    def load(cls, path: Path) -> Segmenter:
        """Read ``word count`` lines (``small_seg.dic``)."""
        words: list[str] = []
        total = 0
        with path.open(encoding="utf-8") as file:
            for line in file:
                word, count = line.strip().split(" ")
                words.append(word)
                total += int(count)
        return cls(words, log(total))

    def cut(self, text: str) -> list[str]:
        """Split ``text`` into tokens; their concatenation is ``text``."""
        ends = self._best_ends(text)
        tokens: list[str] = []
        buffer = ""
        start = 0
        while start < len(text):
            token = text[start : ends[start]]
            if len(token) == 1 and token in ASCII_ALNUM:
                buffer += token
            else:
                if buffer:
                    tokens.append(buffer)
                    buffer = ""
                tokens.append(token)
            start = ends[start]
        if buffer:
            tokens.append(buffer)
        return tokens

    def _best_ends(self, text: str) -> list[int]:
        """For each start, the (exclusive) end of the first word on the best path from there."""
        length = len(text)
        best_scores = [0.0] * (length + 1)
        best_ends = [0] * (length + 1)
        for start in range(length - 1, -1, -1):
            best_score, best_end = self._single_score + best_scores[start + 1], start + 1
            for end, word_score in self._words_at(text, start):
                score = word_score + best_scores[end]
                # LAC takes max over (score, end) tuples: on a tie the longer word wins.
                if score >= best_score:
                    best_score, best_end = score, end
            best_scores[start], best_ends[start] = best_score, best_end
        return best_ends

    def _words_at(self, text: str, start: int) -> list[tuple[int, float]]:
        """(end, score) of each dictionary word starting at ``start``, shortest first."""
        words: list[tuple[int, float]] = []
        end = start + 1
        while end <= len(text):
            fragment = text[start:end]
            if fragment not in self._scores:
                break
            score = self._scores[fragment]
            if score is not None:
                words.append((end, score))
            end += 1
        return words
