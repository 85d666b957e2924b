"""Character vectors from LAC's word embedding (trained by Baidu on a large corpus for word segmentation).

Used only to initialise the classifier's embedding; the LAC package is needed at training time only.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hubserving.modules.senta_bilstm.text import Vocab

LAC_ROWS, LAC_DIM = 58224, 128


def lac_model_dir() -> Path:
    spec = importlib.util.find_spec("LAC")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("--embeddings lac needs the LAC package: see README.md (the lac extra)")
    return Path(next(iter(spec.submodule_search_locations))) / "lac_model"


def read_lac_embedding(root: Path) -> tuple[dict[str, int], npt.NDArray[np.float32]]:
    """``word.dic`` (id<TAB>word) and ``word_emb`` (a serialised float32 tensor; its data is at the end)."""
    ids: dict[str, int] = {}
    for line in (root / "conf" / "word.dic").read_text(encoding="utf-8").split("\n"):
        index, _, word = line.partition("\t")
        if word:
            ids[word] = int(index)
    raw = (root / "model" / "word_emb").read_bytes()
    size = LAC_ROWS * LAC_DIM * 4
    matrix = np.frombuffer(raw[len(raw) - size :], dtype="<f4").reshape(LAC_ROWS, LAC_DIM)
    return ids, matrix


def lac_char_vectors(vocab: Vocab, dim: int, seed: int) -> tuple[npt.NDArray[np.float32], int]:
    """An initial embedding for ``vocab``: LAC's vector where it has the character, random elsewhere.

    Returns the matrix and how many characters LAC covered.
    """
    if dim != LAC_DIM:
        raise SystemExit(f"--embeddings lac needs embedding_dim {LAC_DIM}")
    ids, matrix = read_lac_embedding(lac_model_dir())
    rng = np.random.default_rng(seed)
    vectors = rng.normal(0.0, float(matrix.std()), (len(vocab), dim)).astype(np.float32)
    vectors[0] = 0.0
    covered = 0
    for index, char in enumerate(vocab.tokens[2:], start=2):
        if char in ids:
            vectors[index] = matrix[ids[char]]
            covered += 1
    return vectors, covered
