"""The classifier: character embeddings, one bidirectional LSTM layer, max and mean pooling, softmax."""

from __future__ import annotations

import paddle
import paddle.nn.functional as F
from paddle import nn


class SentaBiLSTM(nn.Layer):
    """``(ids [batch, time] int64, lengths [batch] int64) -> probs [batch, 2]``.

    Column 0 of ``probs`` is negative, column 1 positive.
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, dropout: float) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, direction="bidirect")
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(4 * hidden_size, 2)

    def forward(self, ids: paddle.Tensor, lengths: paddle.Tensor) -> paddle.Tensor:
        ids, lengths = self.clamp(ids, lengths)
        states, _ = self.lstm(self.dropout(self.embedding(ids)), sequence_length=lengths)
        mask = paddle.unsqueeze(paddle.arange(paddle.shape(ids)[1]) < paddle.unsqueeze(lengths, 1), 2)
        mask = paddle.cast(mask, states.dtype)
        mean = paddle.sum(states * mask, axis=1) / paddle.sum(mask, axis=1)
        # adaptive_max_pool1d, not paddle.max: max's gradient costs O(time^2) on CPU in Paddle 3.3.
        shifted = paddle.transpose(states - (1.0 - mask) * 1e4, [0, 2, 1])
        peak = paddle.squeeze(F.adaptive_max_pool1d(shifted, 1), axis=2)
        logits = self.classifier(self.dropout(paddle.concat([peak, mean], axis=1)))
        return F.softmax(logits, axis=1)

    def clamp(self, ids: paddle.Tensor, lengths: paddle.Tensor) -> tuple[paddle.Tensor, paddle.Tensor]:
        """Ids into the vocabulary, lengths into 1..time: a no-op for well-formed input, and the export
        then never reads outside its tables, whatever a client sends (Paddle's CPU kernels do not check:
        a length past the end corrupts memory and kills the worker)."""
        vocab_size = self.embedding.weight.shape[0]
        steps = paddle.expand_as(paddle.cast(paddle.shape(ids)[1], lengths.dtype), lengths)
        return paddle.clip(ids, 0, vocab_size - 1), paddle.minimum(
            paddle.maximum(lengths, paddle.ones_like(lengths)), steps
        )
