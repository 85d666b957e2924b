"""The training run: split, vocabulary, epochs picked on the dev part, export, held-out score."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import paddle
import paddle.nn.functional as F

from hubserving.modules.senta_bilstm.checksums import write_checksums
from hubserving.modules.senta_bilstm.text import VOCAB_FILE, Vocab

from .batching import Batch, Encoded, encode, evaluation_batches, training_batches
from .data import Split, load_reviews, split_reviews
from .export import export_model, exported_probs
from .network import SentaBiLSTM
from .pretrained import lac_char_vectors

if TYPE_CHECKING:
    from .train import Settings


@dataclass
class Report:
    split: Split
    summary: dict[str, Any] = field(default_factory=dict)


def tensors(batch: Batch) -> tuple[paddle.Tensor, paddle.Tensor]:
    return paddle.to_tensor(batch.ids), paddle.to_tensor(batch.lengths)


def accuracy(model: SentaBiLSTM, encoded: Encoded) -> float:
    model.eval()
    correct = 0
    with paddle.no_grad():
        for batch in evaluation_batches(encoded, 256)[0]:
            probs = model(*tensors(batch)).numpy()
            correct += int(((probs[:, 1] >= 0.5).astype(np.int64) == batch.labels).sum())
    return correct / len(encoded.ids)


def train_step(model: SentaBiLSTM, optimizer: paddle.optimizer.Optimizer, batch: Batch) -> float:
    """One update; returns the batch's summed loss."""
    probs = model(*tensors(batch))
    loss = F.nll_loss(paddle.log(probs + 1e-7), paddle.to_tensor(batch.labels))
    loss.backward()
    optimizer.step()
    optimizer.clear_grad()
    return float(loss) * len(batch.labels)


def fit(
    settings: Settings, train: Encoded, dev: Encoded, vocab: Vocab, log: Callable[[str], None]
) -> SentaBiLSTM:
    """Train ``settings.epochs`` epochs; keep the weights of the epoch best on ``dev``."""
    paddle.seed(settings.seed)
    rng = random.Random(settings.seed)
    model = SentaBiLSTM(len(vocab), settings.embedding_dim, settings.hidden_size, settings.dropout)
    if settings.embeddings == "lac":
        vectors, covered = lac_char_vectors(vocab, settings.embedding_dim, settings.seed)
        model.embedding.weight.set_value(vectors)
        log(f"character vectors initialised from LAC for {covered} of {len(vocab) - 2} characters")
    steps = settings.epochs * -(-len(train.ids) // settings.batch_size)
    schedule = paddle.optimizer.lr.CosineAnnealingDecay(settings.learning_rate, T_max=steps)
    optimizer = paddle.optimizer.Adam(
        schedule, parameters=model.parameters(), grad_clip=paddle.nn.ClipGradByGlobalNorm(5.0)
    )
    best: tuple[float, dict[str, Any]] = (-1.0, {})
    for epoch in range(1, settings.epochs + 1):
        started = time.monotonic()
        model.train()
        loss = 0.0
        for batch in training_batches(train, settings.batch_size, rng):
            loss += train_step(model, optimizer, batch)
            schedule.step()
        dev_accuracy = accuracy(model, dev)
        seconds = time.monotonic() - started
        log(f"epoch {epoch}: loss {loss / len(train.ids):.4f}, dev {dev_accuracy:.4f}, {seconds:.0f} s")
        if dev_accuracy > best[0]:
            best = (dev_accuracy, {name: value.numpy().copy() for name, value in model.state_dict().items()})
    model.set_state_dict(best[1])
    return model


def train_and_export(settings: Settings, out: Path, log: Callable[[str], None]) -> Report:
    reviews, line_count, conflicting = load_reviews()
    split = split_reviews(reviews, settings.seed, settings.test_fraction, settings.dev_fraction)
    log(
        f"{line_count} lines, {len(reviews)} distinct reviews ({conflicting} with both labels dropped); "
        f"train {len(split.train)}, dev {len(split.dev)}, held-out {len(split.test)}"
    )
    vocab = Vocab.build((review.text for review in split.train), settings.min_char_count)
    train, dev, test = (encode(part, vocab) for part in (split.train, split.dev, split.test))
    model = fit(settings, train, dev, vocab, log)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("inference.*"):
        stale.unlink()
    names = export_model(model, out)
    vocab.save(out / VOCAB_FILE)
    write_checksums(out, [*names, VOCAB_FILE])
    batches, order = evaluation_batches(test, 64)
    positive = exported_probs(out, batches)
    predicted = (positive >= 0.5).astype(np.int64)
    labels = np.array([test.labels[index] for index in order])
    test_accuracy = float((predicted == labels).mean())
    log(f"held-out accuracy of the exported model: {test_accuracy:.4f} on {len(labels)} reviews")
    return Report(
        split,
        {
            "test_accuracy": round(test_accuracy, 4),
            "dev_accuracy": round(accuracy(model, dev), 4),
            "dygraph_test_accuracy": round(accuracy(model, test), 4),
            "train_reviews": len(split.train),
            "dev_reviews": len(split.dev),
            "test_reviews": len(split.test),
            "vocab_size": len(vocab),
            "files": {name: (out / name).stat().st_size for name in [*names, VOCAB_FILE]},
        },
    )
