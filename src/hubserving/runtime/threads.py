"""A worker's environment: N workers on N cores must not each start N math threads, and the math
library must take the fast code path of the CPU it runs on."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MATH_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "FLAGS_cpu_math_library_num_threads",
)

# The MKL that Paddle bundles runs its generic (SSE) kernels on AMD CPUs unless told the CPU's type:
# 7 is its AVX-512 path, 5 its AVX2 one, each only where the CPU has those instructions. On the EPYC
# here, lac's network at 32 sentences: 2.21 ms generic, 1.61-1.65 AVX2, 1.46-1.53 AVX-512; one sentence
# 0.175, 0.159, 0.144 ms; the same tags with each (the corpus, 300 mixed batches, scrambled text, with
# and without oneDNN). MKL builds from 2020.1 on ignore the variable; a value the user set is kept.
MKL_CPU_TYPE_VARIABLE = "MKL_DEBUG_CPU_TYPE"
MKL_KERNELS = (
    ("7", frozenset({"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"})),
    ("5", frozenset({"avx2", "fma"})),
)


@dataclass(frozen=True)
class Cpu:
    """What /proc/cpuinfo says of the first CPU: its vendor id and instruction-set flags."""

    vendor: str
    flags: frozenset[str]


@functools.cache
def this_cpu() -> Cpu:
    """This machine's CPU; an empty vendor and no flags where /proc/cpuinfo does not say."""
    fields: dict[str, str] = {}
    try:
        with Path("/proc/cpuinfo").open(encoding="utf-8") as info:
            for line in info:
                if not line.strip():
                    break  # the first CPU's block ends
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return Cpu(fields.get("vendor_id", ""), frozenset(fields.get("flags", "").split()))


def cpu_kernel_environment(cpu: Cpu | None = None) -> dict[str, str]:
    """Variables that make the math libraries take the CPU's fastest kernels (``cpu``: this machine's
    by default). Local workers start with them; a Ray replica sets them before it loads its module."""
    cpu = this_cpu() if cpu is None else cpu
    if cpu.vendor != "AuthenticAMD":
        return {}
    for kernels, needs in MKL_KERNELS:
        if needs <= cpu.flags:
            return {MKL_CPU_TYPE_VARIABLE: kernels}
    return {}


def worker_environment(
    base: Mapping[str, str], cuda_devices: str | None, cpu: Cpu | None = None
) -> dict[str, str]:
    """The environment a worker starts with: one math thread unless the user set otherwise; on an AMD
    CPU, MKL's kernels for its instructions. ``cpu``: this machine's by default."""
    environment = dict(base)
    for variable in MATH_THREAD_VARIABLES:
        environment.setdefault(variable, "1")
    for variable, value in cpu_kernel_environment(cpu).items():
        environment.setdefault(variable, value)
    if cuda_devices is not None:
        environment["CUDA_VISIBLE_DEVICES"] = cuda_devices
    return environment
