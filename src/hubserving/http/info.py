"""Routes that describe the server: health, readiness, the loaded modules, the index page."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hubserving import __version__, envelope
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
    pool = _state(request).pool
    if pool.ready:
        return _json({"status": "ready", "workers": len(pool.pids())})
    return _json({"status": "loading", "workers": len(pool.pids())}, 503)


def describe_module(description: ModuleDescription) -> dict[str, Any]:
    data = dataclasses.asdict(description)
    data["category"] = description.category
    data["url"] = f"/predict/{description.name}"
    return data


def server_summary(state: ServingState) -> dict[str, Any]:
    return {
        "version": __version__,
        "mode": state.config.mode,
        "workers": len(state.pool.pids()),
        "ready": state.pool.ready,
        "uptime_s": round(time.time() - state.started_at, 1),
        "timeout_s": state.config.timeout_s,
    }


async def metrics(request: Request) -> Response:
    """Prometheus text format."""
    return Response(_state(request).metrics.exposition(), media_type=CONTENT_TYPE)


async def modules(request: Request) -> Response:
    """The loaded modules and their serving methods' arguments, for scripts and the web page."""
    state = _state(request)
    return _json(
        {"server": server_summary(state), "modules": [describe_module(d) for d in state.pool.descriptions]}
    )
