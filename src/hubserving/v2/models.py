"""Which models a server has, in the protocol's terms: lookup by name and version, and readiness."""

from __future__ import annotations

from typing import Any

from hubserving import __version__
from hubserving.http.state import ServingState
from hubserving.runtime.messages import ModuleDescription
from hubserving.v2.errors import V2Error

SERVER_NAME = "hubserving"
EXTENSIONS = ("binary_tensor_data", "parameters")


def server_metadata() -> dict[str, Any]:
    """``GET /v2`` and gRPC ``ServerMetadata``."""
    return {"name": SERVER_NAME, "version": __version__, "extensions": list(EXTENSIONS)}


def served_names(state: ServingState) -> list[str]:
    return sorted(state.module_names | {d.name for d in state.predictor.descriptions})


def find_model(state: ServingState, name: str, version: str = "") -> ModuleDescription:
    """The loaded model ``name`` (at ``version`` if given): V2Error 404 when none, 503 while it loads."""
    description = state.description(name)
    if description is None and name in state.module_names:
        raise V2Error(
            f"model {name!r} is still loading; try again when GET /v2/models/{name}/ready answers 200", 503
        )
    if description is None:
        served = ", ".join(served_names(state)) or "none"
        raise V2Error(f"model {name!r} is not served here; the models are: {served}", 404)
    if version and version != description.info.version:
        raise V2Error(
            f"model {name!r} has version {description.info.version} only; "
            "ask for that one, or leave the version out",
            404,
        )
    return description


def model_ready(state: ServingState, name: str, version: str = "") -> bool:
    """Whether ``name`` answers requests now; V2Error 404 for a model that is not served."""
    try:
        find_model(state, name, version)
    except V2Error as error:
        if error.status == 503:
            return False
        raise
    return True
