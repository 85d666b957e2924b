"""LAC's BiGRU-CRF network run by Paddle Inference, on variable-length (LoD) batches."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from .assets import INSTALL_HINT


def import_paddle_inference() -> ModuleType:
    """``paddle.inference``, or an ImportError that says how to install Paddle."""
    try:
        with warnings.catch_warnings():
            # Printed by every `import paddle` on machines without ccache; irrelevant to inference.
            warnings.filterwarnings("ignore", message="No ccache found")
            import paddle.inference as inference
    except ImportError as error:
        raise ImportError(f"the lac module needs paddlepaddle ({error}); {INSTALL_HINT}") from error
    return inference


def cuda_available() -> bool:
    import paddle

    return bool(paddle.device.is_compiled_with_cuda())


def make_config(model_dir: Path, num_threads: int, use_gpu: bool) -> Any:
    """A Paddle Inference config tuned for this small model."""
    inference = import_paddle_inference()
    config = inference.Config(str(model_dir))
    config.disable_glog_info()
    # Paddle 3 turns oneDNN on by default. Off, batch 1 is faster (0.27 vs 0.46 ms a sentence on one
    # core), long texts run as fast, and no per-input-shape kernel cache builds up over varying lengths.
    config.disable_mkldnn()
    # The new (PIR) executor cannot run this old program format.
    config.enable_new_ir(False)
    # The IR passes fuse fc+gru into fusion_gru, which is slower here (0.31 vs 0.17 ms a sentence at
    # batch 32 on one core); outputs are the same either way (tests/test_lac_module.py checks them).
    config.switch_ir_optim(False)
    config.set_cpu_math_library_num_threads(num_threads)
    if use_gpu:
        if not cuda_available():
            raise RuntimeError(
                "lac was asked to use a GPU but this paddlepaddle is a CPU build; install paddlepaddle-gpu "
                'in its place, or keep lac on the CPU ("device": "cpu" in its config, or no --use_gpu)'
            )
        config.enable_use_gpu(500, 0)
    return config


class LacPredictor:
    """One loaded network; ``run`` is serialized so threads may share an instance."""

    def __init__(self, model_dir: Path, num_threads: int = 1, use_gpu: bool = False) -> None:
        inference = import_paddle_inference()
        self._predictor = inference.create_predictor(make_config(model_dir, num_threads, use_gpu))
        self._input = self._predictor.get_input_handle(self._predictor.get_input_names()[0])
        self._output = self._predictor.get_output_handle(self._predictor.get_output_names()[0])
        self._lock = threading.Lock()

    def run(self, ids: list[int], offsets: list[int]) -> tuple[npt.NDArray[np.int64], list[int]]:
        """Tag ids for token ids of several sentences; ``offsets`` are the sentences' bounds.

        Returns one tag id per token id, and the output's sentence bounds.
        """
        tokens = np.asarray(ids, dtype=np.int64).reshape(-1, 1)
        with self._lock:
            self._input.reshape(list(tokens.shape))
            self._input.copy_from_cpu(tokens)
            self._input.set_lod([offsets])
            self._predictor.run()
            tags = self._output.copy_to_cpu().reshape(-1)
            bounds = [int(offset) for offset in self._output.lod()[0]]
        return tags, bounds
