"""LAC's BiGRU-CRF network run by Paddle Inference, on variable-length (LoD) batches."""

from __future__ import annotations

import os
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


# oneDNN keeps the kernels it built for each input shape (a run's total of tokens), by default up to
# 1,024: sentences of every length made a worker 100 MB larger. At 128 the worker stays within 15 MB of
# its size without oneDNN, and runs of recurring sizes (1 to 32 short texts) still find their kernels:
# 15 % less worker CPU than at 16, where it builds them again and again.
ONEDNN_CACHE_VARIABLE = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"
ONEDNN_CACHE_CAPACITY = "128"
# Paddle's fusion of fc + gru into oneDNN's GRU builds its kernels for each batch shape: 3x faster on
# one sentence repeated, slower than the plain GRU on real text of varied lengths, and 2x the memory.
SHAPE_BOUND_PASSES = ("fc_gru_fuse_pass", "mul_gru_fuse_pass")


def make_config(model_dir: Path, num_threads: int, use_gpu: bool, onednn: bool = True) -> Any:
    """A Paddle Inference config tuned for this small model; ``onednn=False``: Paddle's plain kernels."""
    inference = import_paddle_inference()
    config = inference.Config(str(model_dir))
    config.disable_glog_info()
    # The new (PIR) executor cannot run this old program format.
    config.enable_new_ir(False)
    config.set_cpu_math_library_num_threads(num_threads)
    if use_gpu:
        if not cuda_available():
            raise RuntimeError(
                "lac was asked to use a GPU but this paddlepaddle is a CPU build; install paddlepaddle-gpu "
                'in its place, or keep lac on the CPU ("device": "cpu" in its config, or no --use_gpu)'
            )
        config.enable_use_gpu(500, 0)
    if use_gpu or not onednn:
        config.disable_mkldnn()  # Paddle 3 turns it on by default
        config.switch_ir_optim(False)  # without oneDNN, its passes pick a slower fused GRU (2x at 32)
        return config
    # The IR passes with oneDNN run the network's fc layers on oneDNN: at 8 to 32 sentences a run,
    # 1.5-1.7x faster than without (0.09 vs 0.15 ms a sentence at 32), 1.3x slower for one sentence
    # alone (0.22 vs 0.17 ms). The tags are the same (tests/test_lac_module.py checks them against
    # LAC's own code, with and without).
    os.environ.setdefault(ONEDNN_CACHE_VARIABLE, ONEDNN_CACHE_CAPACITY)  # read at oneDNN's first use
    config.enable_mkldnn()
    config.switch_ir_optim(True)
    for name in SHAPE_BOUND_PASSES:
        config.delete_pass(name)
    return config


class LacPredictor:
    """One loaded network, fed rows of the embedding ``table`` (``embedding.py``: ``model_dir`` holds
    the network without its lookup); ``run`` is serialized so threads may share an instance."""

    def __init__(
        self,
        model_dir: Path,
        table: npt.NDArray[np.float32],
        num_threads: int = 1,
        use_gpu: bool = False,
        onednn: bool = True,
    ) -> None:
        self._table = table
        inference = import_paddle_inference()
        self._predictor = inference.create_predictor(make_config(model_dir, num_threads, use_gpu, onednn))
        self._input = self._predictor.get_input_handle(self._predictor.get_input_names()[0])
        self._output = self._predictor.get_output_handle(self._predictor.get_output_names()[0])
        self._lock = threading.Lock()

    def run(self, ids: list[int], offsets: list[int]) -> tuple[npt.NDArray[np.int64], list[int]]:
        """Tag ids for token ids of several sentences; ``offsets`` are the sentences' bounds.

        Returns one tag id per token id, and the output's sentence bounds.
        """
        rows = self._table[ids]  # a copy of those rows: what the network's lookup op gave
        with self._lock:
            self._input.reshape(list(rows.shape))
            self._input.copy_from_cpu(rows)
            self._input.set_lod([offsets])
            self._predictor.run()
            tags = self._output.copy_to_cpu().reshape(-1)
            bounds = [int(offset) for offset in self._output.lod()[0]]
        return tags, bounds
