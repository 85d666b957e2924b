"""The whole LAC pipeline: pre-segment, encode, run the network, decode, apply the user dictionary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .assets import LacAssets
from .customization import Customization
from .predictor import LacPredictor
from .segmenter import Segmenter
from .tagging import expand_tags, group_words
from .vocab import Vocab

# Bounds one network run's memory; results do not depend on how sentences are grouped.
MAX_SENTENCES_PER_RUN = 128


@dataclass(frozen=True)
class Analysis:
    """Words of one text and their tags."""

    words: list[str]
    tags: list[str]


@dataclass(frozen=True)
class Encoded:
    """One text as model input: token ids and how many characters each token covers."""

    ids: list[int]
    lengths: list[int]


def empty_analysis() -> Analysis:
    """What an empty text gives (the serving contract: one empty word with an empty tag)."""
    return Analysis([""], [""])


class LexicalAnalyzer:
    """Segments Chinese text into words and tags them, exactly as LAC 2.1.2 does."""

    def __init__(
        self,
        assets: LacAssets,
        customization: Customization | None = None,
        num_threads: int = 1,
        use_gpu: bool = False,
    ) -> None:
        self._predictor = LacPredictor(assets.model_dir, num_threads, use_gpu)
        self._vocab = Vocab.load(assets.word_dict, assets.tag_dict, assets.q2b_dict)
        self._segmenter = Segmenter.load(assets.segment_dict)
        self._customization = customization

    def analyze(self, texts: Sequence[str]) -> list[Analysis]:
        """One analysis per text, in order; non-empty texts go through the network together."""
        results = [empty_analysis() for _ in texts]
        pending = [index for index, text in enumerate(texts) if text]
        for first in range(0, len(pending), MAX_SENTENCES_PER_RUN):
            chunk = pending[first : first + MAX_SENTENCES_PER_RUN]
            analyses = self._analyze_batch([texts[index] for index in chunk])
            for index, analysis in zip(chunk, analyses, strict=True):
                results[index] = analysis
        return results

    def _analyze_batch(self, texts: list[str]) -> list[Analysis]:
        encoded = [self._encode(text) for text in texts]
        ids: list[int] = []
        offsets = [0]
        for item in encoded:
            ids.extend(item.ids)
            offsets.append(len(ids))
        tag_ids, bounds = self._predictor.run(ids, offsets)
        names = self._vocab.tag_names
        return [
            self._decode(text, [names[tag_id] for tag_id in tag_ids[begin:end].tolist()], item.lengths)
            for text, item, begin, end in zip(texts, encoded, bounds[:-1], bounds[1:], strict=True)
        ]

    def _encode(self, text: str) -> Encoded:
        encoded = Encoded([], [])
        self._vocab.encode(self._segmenter.cut(text), encoded.ids, encoded.lengths)
        return encoded

    def _decode(self, text: str, token_tags: list[str], lengths: list[int]) -> Analysis:
        char_tags = expand_tags(token_tags, lengths)
        if self._customization is not None:
            self._customization.apply(text, char_tags)
        words, tags = group_words(text, char_tags)
        return Analysis(words, tags)
