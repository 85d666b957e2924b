"""Which exported model a folder holds, from its file names alone (no framework is imported).

Paddle Inference (checked first): ``<stem>.json`` + ``<stem>.pdiparams`` (Paddle 3's PIR format),
``<stem>.pdmodel`` + ``<stem>.pdiparams``, or the older ``__model__`` with its parameter files.
ONNX: a ``*.onnx`` file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ModelKind = Literal["paddle", "onnx"]
PADDLE_PROGRAM_SUFFIXES = (".json", ".pdmodel")
LEGACY_PROGRAM = "__model__"


@dataclass(frozen=True)
class ModelFiles:
    """The files to load: ``program`` + ``params`` (``params`` is None for ``__model__`` and ONNX)."""

    kind: ModelKind
    program: Path
    params: Path | None = None


def paddle_candidates(folder: Path) -> list[ModelFiles]:
    """Every Paddle program in ``folder`` that has its parameters beside it."""
    found = [
        ModelFiles("paddle", path, path.with_suffix(".pdiparams"))
        for suffix in PADDLE_PROGRAM_SUFFIXES
        for path in sorted(folder.glob(f"*{suffix}"))
        if path.with_suffix(".pdiparams").is_file()
    ]
    if (folder / LEGACY_PROGRAM).is_file():
        found.append(ModelFiles("paddle", folder / LEGACY_PROGRAM))
    return found


def onnx_candidates(folder: Path) -> list[ModelFiles]:
    return [ModelFiles("onnx", path) for path in sorted(folder.glob("*.onnx")) if path.is_file()]


def candidates(folder: Path) -> list[ModelFiles]:
    """All loadable models in ``folder``, Paddle ones first; empty when it is not a folder."""
    if not folder.is_dir():
        return []
    return [*paddle_candidates(folder), *onnx_candidates(folder)]


def model_kind(folder: Path) -> str | None:
    """``"paddle"``, ``"onnx"``, or None when ``folder`` holds no exported model."""
    found = candidates(Path(folder))
    return found[0].kind if found else None
