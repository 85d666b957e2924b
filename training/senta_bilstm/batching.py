"""Encoded reviews as padded batches of similar length (little padding, so little wasted LSTM work)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hubserving.modules.senta_bilstm.text import Vocab

from .data import Review


@dataclass(frozen=True)
class Batch:
    ids: npt.NDArray[np.int64]  # [batch, longest], 0-padded
    lengths: npt.NDArray[np.int64]  # [batch]
    labels: npt.NDArray[np.int64]  # [batch]


@dataclass(frozen=True)
class Encoded:
    ids: list[list[int]]
    labels: list[int]


def encode(reviews: list[Review], vocab: Vocab) -> Encoded:
    return Encoded([vocab.encode(review.text) for review in reviews], [review.label for review in reviews])


def pad(rows: list[list[int]]) -> npt.NDArray[np.int64]:
    padded = np.zeros((len(rows), max(len(row) for row in rows)), dtype=np.int64)
    for index, row in enumerate(rows):
        padded[index, : len(row)] = row
    return padded


def make_batch(encoded: Encoded, indices: list[int]) -> Batch:
    return Batch(
        pad([encoded.ids[index] for index in indices]),
        np.array([len(encoded.ids[index]) for index in indices], dtype=np.int64),
        np.array([encoded.labels[index] for index in indices], dtype=np.int64),
    )


def training_batches(encoded: Encoded, batch_size: int, rng: random.Random) -> list[Batch]:
    """Shuffled, then sorted by length within pools of 50 batches, batches in random order."""
    order = list(range(len(encoded.ids)))
    rng.shuffle(order)
    pool_size = batch_size * 50
    groups: list[list[int]] = []
    for first in range(0, len(order), pool_size):
        pool = sorted(order[first : first + pool_size], key=lambda index: len(encoded.ids[index]))
        groups.extend(pool[start : start + batch_size] for start in range(0, len(pool), batch_size))
    rng.shuffle(groups)
    return [make_batch(encoded, group) for group in groups]


def evaluation_batches(encoded: Encoded, batch_size: int) -> tuple[list[Batch], list[int]]:
    """Batches sorted by length, and the review index of each row in batch order."""
    order = sorted(range(len(encoded.ids)), key=lambda index: len(encoded.ids[index]))
    groups = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    return [make_batch(encoded, group) for group in groups], order
