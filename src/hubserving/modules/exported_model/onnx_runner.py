"""Run an ONNX model with onnxruntime."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy.typing as npt

from .detect import ModelFiles
from .signature import Dim, TensorSpec

# onnxruntime's type strings -> numpy dtype names.
ONNX_DTYPES = {
    "tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16",
    "tensor(int8)": "int8", "tensor(uint8)": "uint8", "tensor(int16)": "int16", "tensor(uint16)": "uint16",
    "tensor(int32)": "int32", "tensor(uint32)": "uint32",
    "tensor(int64)": "int64", "tensor(uint64)": "uint64",
    "tensor(bool)": "bool",
}  # fmt: skip


def import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as error:
        raise ImportError(
            f"serving an ONNX model needs onnxruntime ({error}): pip install 'hubserving[exported]'"
        ) from error
    return onnxruntime


def dim_of(dim: Any) -> Dim:
    """A size, a symbolic name (same name, same size), or None; onnxruntime writes "?" for unnamed."""
    if isinstance(dim, int):
        return dim if dim >= 0 else None
    return dim if isinstance(dim, str) and dim not in ("", "?") else None


def spec_of(node: Any) -> TensorSpec:
    shape = None if node.shape is None else tuple(dim_of(dim) for dim in node.shape)
    return TensorSpec(node.name, shape, ONNX_DTYPES.get(node.type))


def providers(onnxruntime: Any, use_gpu: bool) -> list[str]:
    if not use_gpu:
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        raise RuntimeError(
            "exported_model: use_gpu was asked for but this onnxruntime has no CUDA provider; install "
            'onnxruntime-gpu in its place, or keep this module on the CPU ("device": "cpu" in its config)'
        )
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


class OnnxRunner:
    """One inference session (onnxruntime sessions are safe to run from several threads)."""

    kind = "onnx"
    lod_inputs: frozenset[str] = frozenset()

    def __init__(self, files: ModelFiles, num_threads: int = 1, use_gpu: bool = False) -> None:
        onnxruntime = import_onnxruntime()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.files = files
        self._session = onnxruntime.InferenceSession(
            str(files.program), sess_options=options, providers=providers(onnxruntime, use_gpu)
        )
        self.inputs = tuple(spec_of(node) for node in self._session.get_inputs())
        self.outputs = tuple(spec_of(node) for node in self._session.get_outputs())

    def run(
        self,
        arrays: Mapping[str, npt.NDArray[Any]],
        lods: Mapping[str, Sequence[Sequence[int]]] | None = None,
    ) -> dict[str, npt.NDArray[Any]]:
        """Outputs by name, for inputs by name (``lods`` is for Paddle models and ignored here)."""
        values = self._session.run([spec.name for spec in self.outputs], dict(arrays))
        return dict(zip([spec.name for spec in self.outputs], values, strict=True))
