"""The whole LAC pipeline: pre-segment, encode, run the network, decode, apply the user dictionary.

The network's memory grows with the tokens of one run (about 16 KB each, and Paddle keeps its peak), so
texts are cut into pieces of at most ``MAX_PIECE_CHARS`` characters and pieces run in groups of at most
``MAX_RUN_TEXTS`` pieces and ``MAX_RUN_TOKENS`` tokens: a worker's memory does not depend on a request's
size. A piece's result does not depend on the others of its run, so ordinary texts (one piece each) get
exactly LAC's words and tags whatever else a request holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from hubserving.module.decorators import DEFAULT_MAX_BATCH_SIZE

from .assets import LacAssets
from .customization import Customization
from .embedding import embedding_free_model
from .pieces import split_text
from .predictor import LacPredictor
from .segmenter import Segmenter
from .tagging import expand_tags, group_words
from .vocab import Vocab

MAX_PIECE_CHARS = 2_000  # longer texts are cut (at sentence ends where they have some)
MAX_RUN_TEXTS = DEFAULT_MAX_BATCH_SIZE
# A worker settles about 60 MB above its loaded size whatever it is sent (4,096: 130 MB, 8,192: 240 MB),
# as fast: 386 real sentences in batches of 32 or a 100,000-character text take the same time at each.
MAX_RUN_TOKENS = 2_048


@dataclass(frozen=True)
class Analysis:
    """Words of one text and their tags."""

    words: list[str]
    tags: list[str]


@dataclass(frozen=True)
class Encoded:
    """One piece of text as model input: token ids and how many characters each token covers."""

    text: str
    ids: list[int]
    lengths: list[int]


def empty_analysis() -> Analysis:
    """What an empty text gives (the serving contract: one empty word with an empty tag)."""
    return Analysis([""], [""])


def joined(analyses: Sequence[Analysis]) -> Analysis:
    """The pieces of one text as one analysis: their words and tags, in order."""
    if len(analyses) == 1:
        return analyses[0]
    if not analyses:
        return empty_analysis()
    return Analysis(
        [word for analysis in analyses for word in analysis.words],
        [tag for analysis in analyses for tag in analysis.tags],
    )


def runs(encoded: Iterable[Encoded]) -> Iterator[list[Encoded]]:
    """Consecutive groups of at most ``MAX_RUN_TEXTS`` pieces and ``MAX_RUN_TOKENS`` tokens
    (a piece with more tokens runs alone; a piece has at most ``MAX_PIECE_CHARS`` tokens)."""
    run: list[Encoded] = []
    tokens = 0
    for item in encoded:
        if run and (len(run) == MAX_RUN_TEXTS or tokens + len(item.ids) > MAX_RUN_TOKENS):
            yield run
            run, tokens = [], 0
        run.append(item)
        tokens += len(item.ids)
    if run:
        yield run


class LexicalAnalyzer:
    """Segments Chinese text into words and tags them, exactly as LAC 2.1.2 does."""

    def __init__(
        self,
        assets: LacAssets,
        customization: Customization | None = None,
        num_threads: int = 1,
        use_gpu: bool = False,
        onednn: bool = True,
    ) -> None:
        with embedding_free_model(assets.model_dir) as (model, table):
            self._predictor = LacPredictor(model, table, num_threads, use_gpu, onednn)
            # A piece alone runs faster on Paddle's plain kernels (0.17 vs 0.22 ms for a short sentence;
            # the median of the corpus's sentences 0.87 vs 1.16 ms): with oneDNN, a second network for it
            # (2 MB of weights: the embedding table is shared).
            plain = onednn and not use_gpu
            self._alone = LacPredictor(model, table, num_threads, onednn=False) if plain else self._predictor
        self._vocab = Vocab.load(assets.word_dict, assets.tag_dict, assets.q2b_dict)
        self._segmenter = Segmenter.load(assets.segment_dict)
        self._customization = customization

    def analyze(self, texts: Sequence[str]) -> list[Analysis]:
        """One analysis per text, in order."""
        pieces = [split_text(text, MAX_PIECE_CHARS) for text in texts]
        analyses = iter(self._analyze_pieces(piece for text_pieces in pieces for piece in text_pieces))
        return [joined([next(analyses) for _ in text_pieces]) for text_pieces in pieces]

    def _analyze_pieces(self, pieces: Iterable[str]) -> list[Analysis]:
        results: list[Analysis] = []
        for run in runs(self._encode(piece) for piece in pieces):
            results.extend(self._analyze_run(run))
        return results

    def _analyze_run(self, run: list[Encoded]) -> list[Analysis]:
        ids: list[int] = []
        offsets = [0]
        for item in run:
            ids.extend(item.ids)
            offsets.append(len(ids))
        predictor = self._alone if len(run) == 1 else self._predictor
        tag_ids, bounds = predictor.run(ids, offsets)
        names = self._vocab.tag_names
        return [
            self._decode(item, [names[tag_id] for tag_id in tag_ids[begin:end].tolist()])
            for item, begin, end in zip(run, bounds[:-1], bounds[1:], strict=True)
        ]

    def _encode(self, text: str) -> Encoded:
        encoded = Encoded(text, [], [])
        self._vocab.encode(self._segmenter.cut(text), encoded.ids, encoded.lengths)
        return encoded

    def _decode(self, item: Encoded, token_tags: list[str]) -> Analysis:
        char_tags = expand_tags(token_tags, item.lengths)
        if self._customization is not None:
            self._customization.apply(item.text, char_tags)
        words, tags = group_words(item.text, char_tags)
        return Analysis(words, tags)
