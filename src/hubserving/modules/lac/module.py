"""The built-in ``lac`` module: Baidu's LAC lexical analysis served by hubserving."""

from __future__ import annotations

from typing import Any

from hubserving import moduleinfo, serving

from .analyzer import Analysis, LexicalAnalyzer
from .assets import find_lac_assets
from .customization import Customization


def texts_argument(text: Any, texts: Any) -> list[str]:
    """The list of texts of a ``cut`` call, from ``texts`` or its PaddleHub 2.x name ``text``."""
    if text is not None and texts is not None:
        raise ValueError("lac.cut takes `texts` or `text`, not both")
    given = texts if texts is not None else text
    if given is None:
        raise ValueError('lac.cut needs `texts`: a list of strings, e.g. {"texts": ["今天是个好日子"]}')
    if isinstance(given, str):
        return [given]
    if not isinstance(given, (list, tuple)):
        raise TypeError(f"lac.cut needs `texts`: a list of strings, got {type(given).__name__}")
    for index, item in enumerate(given):
        if not isinstance(item, str):
            raise TypeError(f"lac.cut: texts[{index}] is {type(item).__name__}, not a string")
    return list(given)


def check_options(batch_size: Any, return_tag: Any) -> None:
    """Reject option values a client most likely did not mean (``"false"`` as a string, ...)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"lac.cut: batch_size must be a positive integer, got {batch_size!r}")
    if not isinstance(return_tag, bool):
        raise TypeError(f"lac.cut: return_tag must be true or false, got {return_tag!r}")


def as_result(analysis: Analysis, return_tag: bool) -> dict[str, list[str]]:
    if return_tag:
        return {"word": analysis.words, "tag": analysis.tags}
    return {"word": analysis.words}


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
    """

    def __init__(self, user_dict: str | None = None, use_gpu: bool = False, num_threads: int = 1) -> None:
        if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
            raise ValueError(f"lac: num_threads must be a positive integer, got {num_threads!r}")
        customization = Customization.load(user_dict) if user_dict else None
        self._analyzer = LexicalAnalyzer(find_lac_assets(), customization, num_threads, use_gpu)

    @serving(batch_arg="texts", aliases={"text": "texts"}, max_batch_size=32)
    def cut(
        self,
        text: str | list[str] | None = None,
        texts: str | list[str] | None = None,
        use_gpu: bool = False,
        batch_size: int = 1,
        return_tag: bool = True,
    ) -> list[dict[str, list[str]]]:
        """Words (and tags) of each text: ``[{"word": [...], "tag": [...]}, ...]``.

        ``use_gpu`` and ``batch_size`` are accepted for compatibility with PaddleHub; the device
        is chosen when the module loads, and all texts of a call run as one batch.
        """
        items = texts_argument(text, texts)
        check_options(batch_size, return_tag)
        return [as_result(analysis, return_tag) for analysis in self._analyzer.analyze(items)]
