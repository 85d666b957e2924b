"""Serve any exported model folder with no Python written: ``{"inputs": {name: array}}`` in, outputs out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hubserving import moduleinfo, serving
from hubserving.errors import ConfigError
from hubserving.modules.bounds import init_count

from .runtime import open_model
from .signature import check_not_empty, to_feed


def json_ready(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A C-contiguous array of a dtype orjson writes natively (float16 and bfloat16 become float32)."""
    if (array.dtype.kind == "f" and array.dtype.itemsize < 4) or array.dtype.kind == "V":
        array = array.astype(np.float32)
    return np.ascontiguousarray(array)


@moduleinfo(
    name="exported_model",
    version="1.0.0",
    summary="Serves a folder of exported Paddle Inference or ONNX files; inputs checked against the model",
    author="hubserving",
    type="generic/exported_model",
)
class ExportedModel:
    """Serves ``model_dir``: ``*.json`` or ``*.pdmodel`` + ``*.pdiparams``, ``__model__``, or ``*.onnx``."""

    def __init__(
        self,
        model_dir: str | None = None,
        name: str | None = None,
        num_threads: int = 1,
        use_gpu: bool = False,
        model_file: str | None = None,
    ) -> None:
        if model_dir is None:
            raise ConfigError(
                "exported_model serves a folder of exported model files: start it with "
                "hub serving start -m ./<folder>, or give init_args.model_dir in a config"
            )
        folder = Path(model_dir).expanduser().resolve()
        self.name = name or folder.name
        threads = init_count("exported_model", "num_threads", num_threads)
        self.model = open_model(folder, threads, use_gpu, model_file)

    @serving(input="json", input_arg="inputs")
    def predict(self, inputs: dict[str, Any]) -> dict[str, npt.NDArray[Any]]:
        """``{"inputs": {"<input name>": nested lists or {"b64", "dtype", "shape"}}}`` -> outputs by name."""
        feed = to_feed(inputs, self.model.inputs, self.model.lod_inputs)
        if self.model.kind == "paddle":
            check_not_empty(feed)
        outputs = self.model.run(feed.arrays, feed.lods)
        return {name: json_ready(array) for name, array in outputs.items()}

    def serving_details(self) -> dict[str, Any]:
        """What ``GET /modules`` shows: the model's files, inputs and outputs with shapes and dtypes."""
        return {
            "name": self.name,
            "format": self.model.kind,
            "model_file": self.model.files.program.name,
            "inputs": [spec.describe() for spec in self.model.inputs],
            "outputs": [spec.describe() for spec in self.model.outputs],
            "sequence_inputs": sorted(self.model.lod_inputs),
        }
