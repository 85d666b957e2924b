"""Long texts cut into pieces of bounded length, so one text's cost to the network is bounded too.

A text no longer than the limit is one piece: itself (so ordinary texts give exactly LAC's answers).
A longer one is cut after the last sentence end in the second half of each window, else after the last
clause break there, else at the limit. The pieces, joined, are the text.
"""

from __future__ import annotations

SENTENCE_ENDS = "。！？!?；;…\n"
CLAUSE_BREAKS = "，,、：:　 \t"


def cut_point(window: str) -> int:
    """Where a piece that may take all of ``window`` ends: after a break in its second half, or at its end."""
    for marks in (SENTENCE_ENDS, CLAUSE_BREAKS):
        last = max(window.rfind(mark) for mark in marks)
        if last >= len(window) // 2:
            return last + 1
    return len(window)


def split_text(text: str, max_chars: int) -> list[str]:
    """Pieces of at most ``max_chars`` characters whose concatenation is ``text`` (none for "")."""
    pieces: list[str] = []
    start = 0
    while len(text) - start > max_chars:
        end = start + cut_point(text[start : start + max_chars])
        pieces.append(text[start:end])
        start = end
    if start < len(text):
        pieces.append(text[start:])
    return pieces
