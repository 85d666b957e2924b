"""A V2 inference request and its answer, whichever face (HTTP or gRPC) it came through."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hubserving.v2.tensors import Tensor

Scalar = bool | int | float | str


@dataclass(frozen=True)
class RequestedOutput:
    """An output the client asks for; ``binary`` (HTTP only): raw bytes after the JSON, None: the default."""

    name: str
    binary: bool | None = None


@dataclass(frozen=True)
class InferRequest:
    """One inference request for ``model`` (``version`` empty: whichever the server has)."""

    model: str
    inputs: tuple[Tensor, ...]
    version: str = ""
    id: str = ""
    parameters: Mapping[str, Scalar] = field(default_factory=dict)
    outputs: tuple[RequestedOutput, ...] = ()
    binary_outputs: bool = False  # HTTP: the request's ``binary_data_output`` parameter


@dataclass(frozen=True)
class InferResponse:
    """The answer: the outputs asked for (all when none were named)."""

    model: str
    version: str
    id: str
    outputs: tuple[Tensor, ...]
    batch_size: int = 0  # requests merged into the model call that answered (for the metrics)


@dataclass(frozen=True)
class TensorMetadata:
    """An input or output as model metadata shows it; -1 is a dimension of any size."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(frozen=True)
class ModelMetadata:
    """What ``GET /v2/models/<name>`` and gRPC ``ModelMetadata`` say about a model."""

    name: str
    versions: tuple[str, ...]
    platform: str
    inputs: tuple[TensorMetadata, ...]
    outputs: tuple[TensorMetadata, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "versions": list(self.versions),
            "platform": self.platform,
            "inputs": [tensor.to_json() for tensor in self.inputs],
            "outputs": [tensor.to_json() for tensor in self.outputs],
        }
