"""The web page at ``GET /``: a static HTML file with its scripts and styles under ``/static/``.

The page and its files are open even behind ``--api-key`` (they hold no data); the page then reads
``GET /modules`` and calls ``POST /predict/<module>`` like any client. Without an API key the module list
is inlined into the page, so it shows at once (and ``curl /`` lists the modules too).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from hubserving import envelope
from hubserving.http.info import server_summary
from hubserving.http.state import ServingState

STATIC_DIRECTORY = Path(__file__).parent / "static"
STATIC_PREFIX = "/static"
MODULES_SLOT = "<!--hub:modules-->"
# Everything the page loads comes from this server: no CDN, no external fonts, nothing inline but data.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'"
)


class RevalidatedStaticFiles(StaticFiles):
    """Static files that browsers revalidate (ETag) on every load, so an upgrade never shows stale scripts."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["cache-control"] = "no-cache"
        return response


def inline_json(value: Any) -> str:
    """``value`` as a JSON data block that no string inside it can close early."""
    data = envelope.dumps(value).decode().replace("<", "\\u003c")
    return f'<script id="hub-modules" type="application/json">{data}</script>'


class IndexPage:
    """``GET /``: the page's HTML, read once when the app is built."""

    def __init__(self, template: str) -> None:
        self.template = template

    async def respond(self, request: Request) -> Response:
        state: ServingState = request.app.state.serving
        page = self.template
        if state.config.api_key is None:
            modules = [d.to_json() for d in state.predictor.descriptions]
            page = page.replace(
                MODULES_SLOT, inline_json({"server": server_summary(state), "modules": modules})
            )
        headers = {"cache-control": "no-cache", "content-security-policy": CONTENT_SECURITY_POLICY}
        return HTMLResponse(page, headers=headers)


def page_routes() -> list[BaseRoute]:
    """The page and its static files."""
    page = IndexPage((STATIC_DIRECTORY / "index.html").read_text(encoding="utf-8"))
    static = RevalidatedStaticFiles(directory=STATIC_DIRECTORY)
    return [Route("/", page.respond, methods=["GET"]), Mount(STATIC_PREFIX, app=static, name="static")]
