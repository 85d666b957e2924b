"""What the routes read: the config, the worker pool, the metrics, when the server started."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from hubserving.config import ServerConfig
from hubserving.http.access import AccessLog
from hubserving.metrics import ServerMetrics
from hubserving.runtime.pool import WorkerPool


@dataclass
class ServingState:
    """Shared by every route of one server."""

    config: ServerConfig
    pool: WorkerPool
    metrics: ServerMetrics
    access_log: AccessLog | None = None
    started_at: float = field(default_factory=time.time)
    module_names: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.module_names = frozenset(module.name for module in self.config.modules)
