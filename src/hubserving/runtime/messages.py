"""Messages between the HTTP front and its model workers: named types, never bare tuples."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubserving.logs import LogSettings


@dataclass(frozen=True)
class ModuleSpec:
    """What a worker needs to load one module."""

    name: str
    directory: Path
    init_args: Mapping[str, Any] = field(default_factory=dict)
    predict_args: Mapping[str, Any] = field(default_factory=dict)
    batching: bool = True
    max_batch_size: int | None = None
    max_wait_ms: float = 0.0


@dataclass(frozen=True)
class WorkerSetup:
    """The first message a worker receives."""

    modules: tuple[ModuleSpec, ...]
    use_gpu: bool = False
    log: LogSettings | None = None
    worker_index: int = 0


@dataclass(frozen=True)
class Parameter:
    """One argument of a serving method, as clients see it."""

    name: str
    default: Any = None
    required: bool = False


@dataclass(frozen=True)
class ModuleDescription:
    """A loaded module, described for ``GET /modules`` and the index page."""

    name: str
    version: str
    summary: str
    author: str
    type: str
    method: str
    parameters: tuple[Parameter, ...]
    predict_args: Mapping[str, Any]
    batch_arg: str | None
    max_batch_size: int | None
    details: Mapping[str, Any] = field(default_factory=dict)  # the module's own serving_details(), if any
    aliases: Mapping[str, str] = field(default_factory=dict)  # other request keys for arguments

    @property
    def category(self) -> str:
        return self.type.split("/", 1)[0] if self.type else ""


@dataclass(frozen=True)
class WorkerReady:
    """A worker loaded every module and takes requests."""

    pid: int
    modules: tuple[ModuleDescription, ...]


@dataclass(frozen=True)
class WorkerFailed:
    """A worker could not load its modules; ``message`` says why (with the module's traceback)."""

    pid: int
    message: str


@dataclass(frozen=True)
class PredictCall:
    """One HTTP request for a module: the raw JSON body, decoded in the worker."""

    request_id: int
    module: str
    body: bytes


@dataclass(frozen=True)
class PredictReply:
    """The finished envelope for one request."""

    request_id: int
    http_status: int
    body: bytes
    batch_size: int = 0  # requests merged into the call that produced it; 0 when no call was made
