"""What the HTTP front needs from whatever runs the models: the seam between faces and backends.

The local worker pool (``runtime/pool.py``) is one implementation; a test's fake and, later, Ray
deployments are others. ``POST /predict``, the Open Inference Protocol and gRPC are faces over it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from hubserving.runtime.messages import ModuleDescription, PredictReply


class Predictor(Protocol):
    """Runs prediction requests for the served modules and reports on its readiness."""

    async def predict(self, module: str, body: bytes | bytearray) -> PredictReply:
        """The finished envelope for one JSON request body to ``module`` (a bytearray when the front
        built it from a multipart form: 80 MB are not copied once more just to make them bytes)."""
        ...

    @property
    def module_names(self) -> frozenset[str]:
        """The modules served now, loaded or loading (changes when modules are loaded or unloaded)."""
        ...

    @property
    def ready(self) -> bool:
        """Every module is loaded everywhere it runs: requests are answered, not refused."""
        ...

    @property
    def descriptions(self) -> tuple[ModuleDescription, ...]:
        """The loaded modules (empty until they are loaded)."""
        ...

    @property
    def depth(self) -> Mapping[str, int]:
        """Requests waiting or running, by module (absent: none)."""
        ...

    def pids(self) -> Sequence[int]:
        """The processes that run the models."""
        ...

    def ready_workers(self) -> int:
        """How many of those processes take requests now."""
        ...

    def module_workers(self) -> Mapping[str, Mapping[str, Any]]:
        """Per module: ``{"ready": n, "of": m, "workers": [{"pid", "state", "restarts", "memory_mb"}]}``."""
        ...
