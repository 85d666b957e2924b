"""Thread discipline: N workers on N cores must not each start N math threads."""

from __future__ import annotations

from collections.abc import Mapping

MATH_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "FLAGS_cpu_math_library_num_threads",
)


def worker_environment(base: Mapping[str, str], cuda_devices: str | None) -> dict[str, str]:
    """The environment a worker starts with: one math thread unless the user set otherwise."""
    environment = dict(base)
    for variable in MATH_THREAD_VARIABLES:
        environment.setdefault(variable, "1")
    if cuda_devices is not None:
        environment["CUDA_VISIBLE_DEVICES"] = cuda_devices
    return environment
