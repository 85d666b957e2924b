"""``use_gpu`` for the OCR modules: onnxruntime's CUDA provider on an NVIDIA GPU, or a clear refusal.

PaddleOCR's config files all say ``"use_gpu": true``; on a machine that cannot honour it the module
fails to load with one line saying what to change, instead of running somewhere it was not asked to.
"""

from __future__ import annotations

from collections.abc import Sequence

from hubserving.runtime.devices import detect_gpus

CUDA_PROVIDER = "CUDAExecutionProvider"
TO_CPU = 'set "use_gpu": false in its init_args (or leave out --use_gpu) to serve on the CPU'


def gpu_problem(module: str, gpus: Sequence[int], providers: Sequence[str], runtime: str) -> str | None:
    """Why ``use_gpu`` cannot be honoured, given the GPUs and onnxruntime's providers; None when it can."""
    if not gpus:
        return (
            f"{module}: use_gpu is true, but this machine has no NVIDIA GPU (nvidia-smi lists none); {TO_CPU}"
        )
    if CUDA_PROVIDER not in providers:
        return (
            f"{module}: use_gpu is true, but {runtime} here runs on the CPU only (providers: "
            f"{', '.join(providers)}); install onnxruntime-gpu in place of onnxruntime, or {TO_CPU}"
        )
    return None


def use_cuda(module: str, use_gpu: bool) -> bool:
    """Whether to run on the GPU: ``use_gpu``, checked; ``ValueError`` (a load failure) when it cannot."""
    if not use_gpu:
        return False
    import onnxruntime

    runtime = f"onnxruntime {onnxruntime.__version__}"
    problem = gpu_problem(module, detect_gpus(), onnxruntime.get_available_providers(), runtime)
    if problem is not None:
        raise ValueError(problem)
    return True
