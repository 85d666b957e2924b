"""Run LAC 2.1.2's own Python code on Paddle 3, as the oracle for the lac module's tests.

LAC's wrapper imports ``paddle.fluid``, which Paddle 3 removed. Its inference path only needs
``fluid.CPUPlace``/``CUDAPlace``/``Executor``/``is_compiled_with_cuda`` and, from
``fluid.core``, ``AnalysisConfig``, ``create_paddle_predictor`` and ``PaddleTensor``. Paddle 3
still has all of these under ``paddle.base`` (the old predictor API is deprecated, not gone),
so the shim maps the names and nothing else: LAC's preprocessing, network call, customization
and postprocessing run unchanged. Training (``LAC.train``) is not supported.

The fake modules live in ``sys.modules`` only while LAC is imported; LAC's modules keep their
own references afterwards.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

FAKE_MODULES = ("paddle.fluid", "paddle.fluid.core")


def make_analysis_config(model_dir: str) -> Any:
    """LAC's ``AnalysisConfig(model_dir)`` as Paddle 1.x/2.x built it: oneDNN off (Paddle 3 turns it on)."""
    from paddle.base import core

    config = core.AnalysisConfig(model_dir)
    config.disable_mkldnn()
    return config


def build_fluid_modules() -> tuple[types.ModuleType, types.ModuleType]:
    """``paddle.fluid`` and ``paddle.fluid.core`` stand-ins backed by ``paddle.base``."""
    import paddle.base as base
    from paddle.base import core

    fluid_core = types.ModuleType("paddle.fluid.core")
    fluid_core.AnalysisConfig = make_analysis_config  # type: ignore[attr-defined]
    fluid_core.create_paddle_predictor = core.create_paddle_predictor  # type: ignore[attr-defined]
    fluid_core.PaddleTensor = core.PaddleTensor  # type: ignore[attr-defined]

    fluid = types.ModuleType("paddle.fluid")
    fluid.core = fluid_core  # type: ignore[attr-defined]
    fluid.CPUPlace = base.CPUPlace  # type: ignore[attr-defined]
    fluid.CUDAPlace = base.CUDAPlace  # type: ignore[attr-defined]
    fluid.Executor = base.Executor  # type: ignore[attr-defined]
    fluid.is_compiled_with_cuda = base.is_compiled_with_cuda  # type: ignore[attr-defined]
    return fluid, fluid_core


@contextmanager
def fluid_shim() -> Iterator[None]:
    """Make ``import paddle.fluid`` work inside the block; restore ``sys.modules`` after."""
    fluid, fluid_core = build_fluid_modules()
    saved = {name: sys.modules.get(name) for name in FAKE_MODULES}
    sys.modules.update({"paddle.fluid": fluid, "paddle.fluid.core": fluid_core})
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def load_reference_lac(user_dict: str | None = None) -> Any:
    """LAC's own ``LAC(mode="lac")`` object, with ``user_dict`` loaded by its own ``load_customization``."""
    with fluid_shim():
        lac_package = importlib.import_module("LAC")
        lac = lac_package.LAC(mode="lac")
    if user_dict is not None:
        lac.load_customization(user_dict)
    return lac


def reference_cut(lac: Any, texts: list[str]) -> list[tuple[list[str], list[str]]]:
    """LAC's ``run`` on a list, as ``(words, tags)`` per text. LAC pops empty texts from the list it
    is given, so it gets a copy."""
    return [(list(words), list(tags)) for words, tags in lac.run(list(texts))]
