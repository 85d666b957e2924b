"""Messages between the HTTP front and its model workers: named types, never bare tuples."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubserving.config import BatchingConfig
from hubserving.logs import LogSettings
from hubserving.module.decorators import ModuleInfo
from hubserving.module.signature import Parameter


@dataclass(frozen=True)
class ModuleSpec:
    """What a worker needs to load one module."""

    name: str
    directory: Path
    init_args: Mapping[str, Any] = field(default_factory=dict)
    predict_args: Mapping[str, Any] = field(default_factory=dict)
    batching: BatchingConfig = field(default_factory=BatchingConfig)


@dataclass(frozen=True)
class WorkerSetup:
    """The first message a worker receives."""

    modules: tuple[ModuleSpec, ...]
    use_gpu: bool = False
    log: LogSettings | None = None
    worker_index: int = 0
    memory_limit_mb: int | None = None  # above it after a call, the worker asks to be replaced
    nice: int = 0  # how much nicer than the front the worker runs


@dataclass(frozen=True)
class ModuleDescription:
    """A loaded module, described for ``GET /modules`` and the index page.

    ``name`` is the name it is served under (an exported model folder's, for ``exported_model``);
    ``info`` is what the module says about itself.
    """

    name: str
    info: ModuleInfo
    method: str
    parameters: tuple[Parameter, ...]
    predict_args: Mapping[str, Any]
    batch_arg: str | None
    max_batch_size: int | None
    input_kind: str = "json"  # "text", "image" or "json": what the module's input is
    input_arg: str | None = None  # the argument that holds it
    details: Mapping[str, Any] = field(default_factory=dict)  # the module's own serving_details(), if any
    aliases: Mapping[str, str] = field(default_factory=dict)  # other request keys for arguments
    retry: bool = True  # a request may be sent again when its worker dies

    def to_json(self) -> dict[str, Any]:
        """The description as ``GET /modules`` gives it: the module's identity flat beside the rest."""
        data = {key: value for key, value in dataclasses.asdict(self).items() if key != "info"}
        identity = dataclasses.asdict(self.info)
        identity.pop("name")
        return {**data, **identity, "category": self.info.category, "url": f"/predict/{self.name}"}


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
class WorkerRetiring:
    """A worker grew past its memory limit: replace it; it serves what it holds until closed."""

    pid: int
    rss_mb: int


# The two messages made for every request are plain slotted classes: a frozen dataclass's __init__
# sets each field through object.__setattr__ (0.6 vs 0.1 µs), and four are made per request.
@dataclass(slots=True)
class PredictCall:
    """One HTTP request for a module: the raw JSON body, decoded in the worker."""

    request_id: int
    module: str
    body: bytes | bytearray


@dataclass(slots=True)
class PredictReply:
    """The finished envelope for one request."""

    request_id: int
    http_status: int
    body: bytes
    batch_size: int = 0  # requests merged into the call that produced it; 0 when no call was made
    attempts: int = 1  # workers the request was sent to (2: its first worker died); not on the wire
