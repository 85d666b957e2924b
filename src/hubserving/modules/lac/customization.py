"""A user dictionary that overrides LAC's segmentation and tags.

A port of ``LAC/custom.py`` (``Customization``) and the ``TriedTree`` it searches with
(``LAC/prefix_tree.py``), keeping their behaviour exactly.

File format: UTF-8, one entry a line, the entry's pieces separated by whitespace, each piece
optionally ``/TAG``: ``春天/SEASON`` makes 春天 one word tagged SEASON; ``花 开`` forces the
boundary between 花 and 开 (tags from the model); ``花/n 开/v`` forces both boundary and tags.
A one-character entry without a tag is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Entry:
    """One dictionary entry: each piece's tag ("" keeps the model's) and where each piece ends."""

    tags: tuple[str, ...]
    ends: tuple[int, ...]


def parse_entry(pieces: list[str]) -> tuple[str, Entry]:
    """``["花/n", "开/v"]`` -> ``("花开", Entry(("n", "v"), (1, 2)))``.

    As LAC: the tag follows the last ``/``; a ``/`` at the start of a piece is part of the word.
    """
    phrase = ""
    tags: list[str] = []
    ends: list[int] = []
    for piece in pieces:
        slash = piece.rfind("/")
        if slash < 1:
            phrase += piece
            tags.append("")
        else:
            phrase += piece[:slash]
            tags.append(piece[slash + 1 :])
        ends.append(len(phrase))
    return phrase, Entry(tuple(tags), tuple(ends))


class Customization:
    """Phrases to find in a text and how to re-tag them."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        # phrase -> its length; a proper prefix of a phrase that is not itself a phrase -> None.
        self._prefixes: dict[str, int | None] = {}

    @classmethod
    def load(cls, path: str | Path) -> Customization:
        """Read a user dictionary file; a missing file raises ``FileNotFoundError`` naming it."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"lac user_dict not found or not a file: {path} (expected a UTF-8 text file)"
            )
        customization = cls()
        try:
            with path.open(encoding="utf-8") as file:
                for line in file:
                    customization.add_line(line)
        except UnicodeDecodeError as error:
            raise ValueError(f"lac user_dict {path} is not UTF-8 text: {error}") from error
        return customization

    def __len__(self) -> int:
        return len(self._entries)

    def add_line(self, line: str) -> None:
        """Add one dictionary line; blank lines and untagged one-character entries are ignored."""
        pieces = line.strip().split()
        if not pieces:
            return
        phrase, entry = parse_entry(pieces)
        if len(phrase) < 2 and entry.tags[0] == "":
            return
        self._entries[phrase] = entry
        self._add_phrase(phrase)

    def _add_phrase(self, phrase: str) -> None:
        self._prefixes[phrase] = len(phrase)
        for end in range(1, len(phrase)):
            self._prefixes.setdefault(phrase[:end], None)

    def matches(self, text: str) -> list[tuple[int, int]]:
        """``(begin, end)`` of the phrases found, left to right; each one ends after the previous.

        For every start, every phrase beginning there whose end passes the last match's end is
        taken, so matches may overlap (LAC's ``TriedTree.search``).
        """
        found: list[tuple[int, int]] = []
        for begin in range(len(text)):
            for end in range(begin + 1, len(text) + 1):
                fragment = text[begin:end]
                if fragment not in self._prefixes:
                    break
                if self._prefixes[fragment] and (not found or end > found[-1][1]):
                    found.append((begin, end))
        return found

    def apply(self, text: str, char_tags: list[str]) -> None:
        """Rewrite the per-character ``X-B`` / ``X-I`` tags of ``text`` in place."""
        for begin, end in self.matches(text):
            entry = self._entries[text[begin:end]]
            index = begin
            for tag, piece_end in zip(entry.tags, entry.ends, strict=True):
                while index < begin + piece_end:
                    char_tags[index] = tag + "-I" if tag else char_tags[index][:-1] + "I"
                    index += 1
            char_tags[begin] = char_tags[begin][:-1] + "B"
            for piece_end in entry.ends:
                if begin + piece_end < len(char_tags):
                    char_tags[begin + piece_end] = char_tags[begin + piece_end][:-1] + "B"
