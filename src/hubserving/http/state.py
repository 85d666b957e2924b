"""What the routes read: the config, the predictor, the metrics, the access log; and what they
record of each answered request."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from hubserving.config import ServerConfig
from hubserving.control import ServerControl
from hubserving.errors import Code
from hubserving.http.access import AccessLog, Exchange
from hubserving.http.asgi import Scope, client_host
from hubserving.metrics import ServerMetrics
from hubserving.predictor import Predictor
from hubserving.runtime.messages import ModuleDescription

UNAUTHORIZED_STATUS = Code.UNAUTHORIZED.http_status  # read once: an enum property costs a microsecond


@dataclass
class ServingState:
    """Shared by every route of one server."""

    config: ServerConfig
    predictor: Predictor
    metrics: ServerMetrics
    access_log: AccessLog | None = None
    started_at: float = field(default_factory=time.time)
    control: ServerControl | None = None  # loads, unloads and reloads modules (local worker pools only)
    control_token: str = ""  # lets the local `hub serving reload` manage the server without --admin
    allowed_origins: frozenset[bytes] = frozenset()  # --cors, as request headers spell them

    def __post_init__(self) -> None:
        self.allowed_origins = frozenset(origin.encode("latin-1") for origin in self.config.cors_origins)

    @property
    def module_names(self) -> frozenset[str]:
        """The modules served now (they change when modules are loaded or unloaded)."""
        return self.predictor.module_names

    def description(self, module: str) -> ModuleDescription | None:
        """The loaded module served as ``module``; None while it loads."""
        return next((d for d in self.predictor.descriptions if d.name == module), None)

    def observe(
        self,
        scope: Scope,
        status: int,
        seconds: float,
        rid: bytes,
        module: str | None,
        batch_size: int = 0,
        attempts: int = 1,
    ) -> None:
        """Metrics and an access line for one answer; ``module`` when a prediction route named one."""
        if module is not None and module in self.module_names:
            self.metrics.observe(module, status, seconds, batch_size)
        if status == UNAUTHORIZED_STATUS:
            self.metrics.unauthorized.inc()
        if self.access_log is not None:
            exchange = Exchange(
                client_host(scope),
                scope["method"],
                scope["path"],
                status,
                seconds,
                rid.decode(),
                module,
                attempts,
            )
            self.access_log.record(exchange)
