"""Routes that describe the server: health, readiness, the loaded modules, the index page."""

from __future__ import annotations

import dataclasses
import html
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

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


def _module_row(description: ModuleDescription) -> str:
    arguments = ", ".join(
        p.name if p.required else f"{p.name}={envelope.dumps(p.default).decode()}"
        for p in description.parameters
    )
    cells = (
        description.name,
        description.version,
        description.category,
        description.summary,
        f"POST /predict/{description.name}  ({description.method}({arguments}))",
    )
    return "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>"


async def index(request: Request) -> Response:
    """A plain page for people: what this server serves and how to call it."""
    state = _state(request)
    summary = server_summary(state)
    rows = "\n".join(_module_row(d) for d in state.pool.descriptions) or (
        "<tr><td colspan=5>models are loading…</td></tr>"
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hubserving</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}
td,th{{border:1px solid #ccc;padding:.3em .6em}}
table{{border-collapse:collapse}}code{{background:#f4f4f4;padding:.1em .3em}}</style></head>
<body><h1>hubserving {html.escape(__version__)}</h1>
<p>Mode: {html.escape(summary["mode"])} · workers: {summary["workers"]} ·
{"ready" if summary["ready"] else "loading"} · up {summary["uptime_s"]:.0f} s</p>
<table><tr><th>module</th><th>version</th><th>category</th><th>summary</th><th>call</th></tr>
{rows}</table>
<p>Example: <code>curl -s -H 'Content-Type: application/json' -d '{{"texts": ["今天是个好日子"]}}'
{html.escape(str(request.base_url))}predict/lac</code> · machine-readable: <a href="/modules">/modules</a></p>
</body></html>"""
    return HTMLResponse(page)
