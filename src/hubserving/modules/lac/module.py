"""The built-in ``lac`` module: Baidu's LAC lexical analysis served by hubserving."""

from __future__ import annotations

from typing import Any

from hubserving import RequestError, moduleinfo, serving
from hubserving.modules.bounds import DEFAULT_MAX_TEXTS, Bound, describe, init_count

from .analyzer import MAX_PIECE_CHARS, Analysis, LexicalAnalyzer
from .assets import find_lac_assets
from .customization import Customization

NAME = "lac"
DEFAULT_MAX_TEXT_CHARS = 100_000  # about 3 s of one core; memory is bounded by pieces, not by this


def texts_argument(text: str | list[str] | None, texts: str | list[str] | None) -> list[str]:
    """The list of texts of a ``cut`` call, from ``texts`` or its PaddleHub 2.x name ``text``."""
    if text is not None and texts is not None:
        raise RequestError("lac.cut takes `texts` or `text`, not both")
    given = texts if texts is not None else text
    if given is None:
        raise RequestError('lac.cut needs `texts`: a list of strings, e.g. {"texts": ["今天是个好日子"]}')
    return [given] if isinstance(given, str) else list(given)


def as_result(analysis: Analysis, return_tag: bool) -> dict[str, list[str]]:
    if return_tag:
        return {"word": analysis.words, "tag": analysis.tags}
    return {"word": analysis.words}


class TextBounds:
    """How many texts a call may hold, and how long each may be."""

    def __init__(self, max_texts: object, max_text_chars: object) -> None:
        self.texts = Bound.from_init_arg(NAME, "max_texts", max_texts, "texts", "per request")
        self.chars = Bound.from_init_arg(NAME, "max_text_chars", max_text_chars, "characters", "per text")

    def check(self, texts: list[str]) -> None:
        """Refuse too many texts, or a text too long, before any work."""
        self.texts.check(NAME, "the request", len(texts))
        for index, text in enumerate(texts):
            self.chars.check(NAME, f"texts[{index}]", len(text))


@moduleinfo(
    name="lac",
    version="2.2.0",
    summary="Baidu's LAC: Chinese word segmentation, part-of-speech and entity tagging (BiGRU-CRF)",
    author="baidu-nlp",
    author_email="",
    type="nlp/lexical_analysis",
)
class Lac:
    """Chinese word segmentation with part-of-speech and entity tags.

    ``user_dict``: path of a custom dictionary (UTF-8, one entry a line, e.g. ``春天/SEASON`` or
    ``花/n 开/v``). ``num_threads``: math threads of the network (1 is fastest per core).
    ``max_texts``, ``max_text_chars``: the most texts a request may hold, and characters a text may have.
    ``onednn``: run batches on oneDNN (faster for them; a lone sentence runs on plain kernels, faster for it).
    """

    def __init__(
        self,
        user_dict: str | None = None,
        use_gpu: bool = False,
        num_threads: int = 1,
        max_texts: int = DEFAULT_MAX_TEXTS,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
        onednn: bool = True,
    ) -> None:
        self._bounds = TextBounds(max_texts, max_text_chars)
        customization = Customization.load(user_dict) if user_dict else None
        threads = init_count(NAME, "num_threads", num_threads)
        if not isinstance(onednn, bool):
            raise ValueError(f"{NAME}: init_args onednn must be true or false, got {onednn!r}")
        self._analyzer = LexicalAnalyzer(find_lac_assets(), customization, threads, use_gpu, onednn)

    def serving_details(self) -> dict[str, Any]:
        """Shown by ``GET /modules``: the input bounds (``init_args`` keys) and how long texts are cut."""
        return {"limits": describe(self._bounds.texts, self._bounds.chars), "piece_chars": MAX_PIECE_CHARS}

    @serving(batch_arg="texts", aliases={"text": "texts"}, input="text")
    def cut(
        self,
        text: str | list[str] | None = None,
        texts: str | list[str] | None = None,
        use_gpu: bool = False,
        batch_size: int = 1,
        return_tag: bool = True,
    ) -> list[dict[str, list[str]]]:
        """Words (and tags) of each text: ``[{"word": [...], "tag": [...]}, ...]``.

        ``use_gpu`` and ``batch_size`` are accepted for compatibility with PaddleHub; the device is chosen
        when the module loads, and the module sizes its own network runs.
        """
        items = texts_argument(text, texts)
        if batch_size < 1:
            raise RequestError(f"lac.cut: batch_size must be a positive integer, got {batch_size}")
        self._bounds.check(items)
        return [as_result(analysis, return_tag) for analysis in self._analyzer.analyze(items)]
