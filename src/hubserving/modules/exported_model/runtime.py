"""Open an exported model folder: pick its files, load them with their own runtime.

from hubserving.modules.exported_model.runtime import open_model
model = open_model(Path("my_export"))          # Paddle Inference or ONNX, from the file names
model.inputs                                   # (TensorSpec(name, shape, dtype), ...)
outputs = model.run({"x": array})              # {output name: array}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy.typing as npt

from .detect import ModelFiles, candidates
from .signature import TensorSpec


class ModelRunner(Protocol):
    """What both runtimes offer."""

    kind: str
    files: ModelFiles
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    lod_inputs: frozenset[str]

    def run(
        self,
        arrays: Mapping[str, npt.NDArray[Any]],
        lods: Mapping[str, Sequence[Sequence[int]]] | None = None,
    ) -> dict[str, npt.NDArray[Any]]: ...


class NoModelFound(FileNotFoundError):
    """The folder holds no exported model, or several and none was chosen."""


def choose_files(folder: Path, model_file: str | None = None) -> ModelFiles:
    """The model to load from ``folder``: the only one there, or the one named ``model_file``."""
    if not folder.is_dir():
        raise NoModelFound(f"model_dir {folder} is not a folder")
    found = candidates(folder)
    if model_file is not None:
        # A name in the folder; or its path (a config beside the model makes init_args paths absolute).
        given = Path(model_file).expanduser().resolve()
        chosen = [f for f in found if model_file == f.program.name or given == f.program.resolve()]
        if not chosen:
            names = ", ".join(files.program.name for files in found) or "none"
            raise NoModelFound(f"{folder} has no model file {model_file!r} (models found: {names})")
        return chosen[0]
    if not found:
        raise NoModelFound(
            f"{folder} holds no exported model: expected <name>.json or <name>.pdmodel with <name>.pdiparams "
            "(Paddle Inference), __model__ with its parameter files (older Paddle), or <name>.onnx"
        )
    if len(found) > 1:
        names = ", ".join(files.program.name for files in found)
        raise NoModelFound(f"{folder} holds several models ({names}); choose one with init_args.model_file")
    return found[0]


def open_model(
    folder: Path, num_threads: int = 1, use_gpu: bool = False, model_file: str | None = None
) -> ModelRunner:
    """Load the exported model in ``folder`` (see ``choose_files``) with one runtime."""
    files = choose_files(Path(folder), model_file)
    if files.kind == "onnx":
        from .onnx_runner import OnnxRunner

        return OnnxRunner(files, num_threads, use_gpu)
    from .paddle_runner import PaddleRunner

    return PaddleRunner(files, num_threads, use_gpu)
