"""Routes that describe the server: health, readiness, the loaded modules, the index page."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hubserving import __version__, envelope
from hubserving.errors import Code
from hubserving.http.state import ServingState
from hubserving.metrics import CONTENT_TYPE
from hubserving.runtime.messages import ModuleDescription

JSON = "application/json"


def _state(request: Request) -> ServingState:
    state: ServingState = request.app.state.serving
    return state


def _json(value: Any, status: int = 200) -> Response:
    return Response(envelope.dumps(value), status, media_type=JSON)


async def health(request: Request) -> Response:
    """Live: the process answers."""
    return _json({"status": "alive"})


async def ready(request: Request) -> Response:
    """Ready only when every module in every worker is loaded."""
    predictor = _state(request).predictor
    if predictor.ready:
        return _json({"status": "ready", "workers": len(predictor.pids())})
    return _json({"status": "loading", "workers": len(predictor.pids())}, Code.NOT_READY.http_status)


def server_summary(state: ServingState) -> dict[str, Any]:
    return {
        "version": __version__,
        "mode": state.config.mode,
        "workers": len(state.predictor.pids()),
        "ready": state.predictor.ready,
        "uptime_s": round(time.time() - state.started_at, 1),
        "timeout_s": state.config.timeout_s,
    }


async def metrics(request: Request) -> Response:
    """Prometheus text format."""
    return Response(_state(request).metrics.exposition(), media_type=CONTENT_TYPE)


def _module(state: ServingState, description: ModuleDescription) -> dict[str, Any]:
    """A module as ``GET /modules`` shows it, with how many of its workers are ready, and each worker."""
    data = description.to_json()
    workers = state.predictor.module_workers().get(description.name)
    if workers is not None:
        data["workers"] = workers["ready"]
        data["worker_processes"] = workers["workers"]
    return data


async def modules(request: Request) -> Response:
    """The loaded modules and their serving methods' arguments, for scripts and the web page."""
    state = _state(request)
    return _json(
        {
            "server": server_summary(state),
            "modules": [_module(state, d) for d in state.predictor.descriptions],
        }
    )
