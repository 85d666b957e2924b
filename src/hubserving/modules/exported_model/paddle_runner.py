"""Run a Paddle Inference model (PIR ``.json``, ``.pdmodel`` or ``__model__``) on the CPU or a GPU."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .detect import LEGACY_PROGRAM, ModelFiles
from .paddle_program import read_signature
from .signature import TensorSpec


def import_inference() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="No ccache found")
            from paddle import inference
    except ImportError as error:
        raise ImportError(
            f"serving a Paddle Inference model needs paddlepaddle ({error}): "
            "pip install 'paddlepaddle>=3,<3.4'"
        ) from error
    return inference


def make_config(files: ModelFiles, num_threads: int, use_gpu: bool) -> Any:
    """oneDNN off and a fixed number of math threads: the fast setting for one request at a time."""
    inference = import_inference()
    if files.program.name == LEGACY_PROGRAM:
        config = inference.Config(str(files.program.parent))
    else:
        config = inference.Config(str(files.program), str(files.params))
    config.disable_glog_info()
    config.disable_mkldnn()
    # Programs saved before Paddle 3 only run on the old executor; Paddle 3's JSON only on the new one.
    config.enable_new_ir(files.program.suffix == ".json")
    config.set_cpu_math_library_num_threads(num_threads)
    if use_gpu:
        import paddle

        if not paddle.device.is_compiled_with_cuda():
            raise RuntimeError(
                "exported_model: use_gpu was asked for but this paddlepaddle is a CPU build; install "
                "paddlepaddle-gpu in its place, or keep this module on the CPU "
                '("device": "cpu" in its config)'
            )
        config.enable_use_gpu(256, 0)
    return config


class PaddleRunner:
    """One predictor; ``run`` is serialised so threads may share it."""

    kind = "paddle"

    def __init__(self, files: ModelFiles, num_threads: int = 1, use_gpu: bool = False) -> None:
        self.files = files
        self._predictor = import_inference().create_predictor(make_config(files, num_threads, use_gpu))
        signature = read_signature(files.program)
        declared_in = signature.inputs if signature else {}
        declared_out = signature.outputs if signature else {}
        self.inputs = tuple(
            declared_in.get(name, TensorSpec(name, None, None)) for name in self._predictor.get_input_names()
        )
        self.outputs = tuple(
            declared_out.get(name, TensorSpec(name, None, None))
            for name in self._predictor.get_output_names()
        )
        self.lod_inputs = signature.lod_inputs if signature else frozenset()
        self._lock = threading.Lock()

    def run(
        self,
        arrays: Mapping[str, npt.NDArray[Any]],
        lods: Mapping[str, Sequence[Sequence[int]]] | None = None,
    ) -> dict[str, npt.NDArray[Any]]:
        """Outputs by name, for inputs by name (``lods``: level-of-detail offsets of sequence inputs)."""
        with self._lock:
            for name, array in arrays.items():
                handle = self._predictor.get_input_handle(name)
                handle.reshape(list(array.shape))
                handle.copy_from_cpu(np.ascontiguousarray(array))
                if lods and name in lods:
                    handle.set_lod([list(level) for level in lods[name]])
            self._predictor.run()
            return {
                spec.name: self._predictor.get_output_handle(spec.name).copy_to_cpu() for spec in self.outputs
            }
