"""LAC's vocabularies: token ids (with character replacement and OOV) and tag names.

Mirrors ``LAC/reader.py`` (``load_kv_dict``, ``Dataset.word_to_ids``, ``Dataset.text_to_ids``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


def load_kv_dict(path: Path, reverse: bool = False) -> dict[str, str]:
    """Read ``key<TAB>value`` lines (``value<TAB>key`` when ``reverse``); the last duplicate wins.

    Lines without exactly one tab are skipped, as LAC does. ``tag.dic`` relies on "last wins":
    ids 16-21 and 34-35 are listed twice and end up as PER/LOC/ORG/TIME, not nr/ns/nt/t.
    """
    result: dict[str, str] = {}
    with path.open(encoding="utf-8") as file:
        for line in file:
            terms = line.strip("\n").split("\t")
            if len(terms) != 2:
                continue
            key, value = (terms[1], terms[0]) if reverse else (terms[0], terms[1])
            result[key] = value
    return result


@dataclass(frozen=True)
class Vocab:
    """Token -> id for the model's input, id -> tag name for its output."""

    word_ids: dict[str, int]
    replacements: dict[str, str]
    tag_names: tuple[str, ...]
    oov_id: int

    @classmethod
    def load(cls, word_dict: Path, tag_dict: Path, q2b_dict: Path) -> Vocab:
        """Read LAC's ``word.dic``, ``tag.dic`` and ``q2b.dic``."""
        word_ids = {word: int(index) for word, index in load_kv_dict(word_dict, reverse=True).items()}
        names = {int(index): tag for index, tag in load_kv_dict(tag_dict).items()}
        tag_names = tuple(names[index] for index in range(max(names) + 1))
        return cls(word_ids, load_kv_dict(q2b_dict), tag_names, word_ids["OOV"])

    def token_id(self, token: str) -> int:
        """The id of a token after replacement (full-width to half-width, ...), or the OOV id."""
        return self.word_ids.get(self.replacements.get(token, token), self.oov_id)

    def encode(self, tokens: Iterable[str], ids: list[int], lengths: list[int]) -> None:
        """Append the ids of pre-segmented tokens and how many characters each id covers.

        A token the vocabulary knows as a whole (looked up *before* replacement) is one id;
        any other token is split into characters, one id each.
        """
        for token in tokens:
            if token in self.word_ids:
                ids.append(self.token_id(token))
                lengths.append(len(token))
            else:
                ids.extend(self.token_id(char) for char in token)
                lengths.extend([1] * len(token))
