"""Texts -> positive-class probabilities, in length-sorted chunks; probabilities -> the reference's result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from hubserving.modules.exported_model.runtime import ModelRunner

from .text import Vocab

# Texts per network run, at most. Paddle's CPU LSTM costs the same per character at batch 1 as at 64,
# but pays for padding in full, so a run only takes texts of about the same length.
CHUNK_SIZE = 64
MAX_PADDING = 0.25


def as_result(text: str, positive: float) -> dict[str, Any]:
    """The reference's per-text answer; the two probabilities (4 places) add up to 1."""
    positive_probs = round(positive, 4)
    label = 1 if positive >= 0.5 else 0
    return {
        "text": text,
        "sentiment_label": label,
        "sentiment_key": "positive" if label else "negative",
        "positive_probs": positive_probs,
        "negative_probs": round(1.0 - positive_probs, 4),
    }


def padded(rows: Sequence[list[int]]) -> npt.NDArray[np.int64]:
    """Rows of ids as one 0-padded ``[rows, longest]`` array."""
    ids = np.zeros((len(rows), max(len(row) for row in rows)), dtype=np.int64)
    for index, row in enumerate(rows):
        ids[index, : len(row)] = row
    return ids


def similar_lengths(order: list[int], lengths: list[int]) -> list[list[int]]:
    """Split indices sorted by length into runs whose longest text is at most 25 % (+4) longer."""
    chunks: list[list[int]] = []
    for index in order:
        current = chunks[-1] if chunks else []
        fits = current and len(current) < CHUNK_SIZE
        if fits and lengths[index] <= lengths[current[0]] * (1 + MAX_PADDING) + 4:
            current.append(index)
        else:
            chunks.append([index])
    return chunks


INPUT_NAMES = ["ids", "lengths"]


class SentimentClassifier:
    """The vocabulary and the exported network (inputs ``INPUT_NAMES``; output ``[batch, 2]``)."""

    def __init__(self, vocab: Vocab, model: ModelRunner) -> None:
        names = [spec.name for spec in model.inputs]
        if names != INPUT_NAMES or len(model.outputs) != 1:
            raise ValueError(f"{model.files.program} is not a senta_bilstm export (its inputs are {names})")
        self._vocab = vocab
        self._model = model
        self._output = model.outputs[0].name

    def positive_probs(self, texts: Sequence[str]) -> list[float]:
        """P(positive) per text, in order."""
        encoded = [self._vocab.encode(text) for text in texts]
        order = sorted(range(len(encoded)), key=lambda index: len(encoded[index]))
        results = [0.0] * len(encoded)
        for chunk in similar_lengths(order, [len(ids) for ids in encoded]):
            probs = self._model.run(self.feed([encoded[index] for index in chunk]))[self._output]
            for index, positive in zip(chunk, probs[:, 1].tolist(), strict=True):
                results[index] = positive
        return results

    @staticmethod
    def feed(encoded: Sequence[list[int]]) -> dict[str, npt.NDArray[np.int64]]:
        """The network's inputs for texts' character ids."""
        return {"ids": padded(encoded), "lengths": np.array([len(ids) for ids in encoded], dtype=np.int64)}
