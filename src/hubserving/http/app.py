"""The ASGI application: the prediction hot path, and Starlette for every other route."""

from __future__ import annotations

import time

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from hubserving.http import auth, info, page
from hubserving.http.admin import admin_routes
from hubserving.http.asgi import Receive, Scope, Send, request_id
from hubserving.http.predict import PREFIX, predict, predicted_module, wrong_method
from hubserving.http.state import ServingState


class HubApp:
    """Checks the API key; sends ``POST /predict/<module>`` to its handler and the rest to Starlette."""

    def __init__(self, state: ServingState) -> None:
        self.state = state
        self.api_key = state.config.api_key.encode() if state.config.api_key else None
        self.routes = Starlette(routes=info_routes())
        self.routes.state.serving = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.routes(scope, receive, send)
        elif self.api_key is not None and not auth.is_allowed(scope, self.api_key):
            await self.refuse(scope, send)
        elif scope["path"].startswith(PREFIX):
            await (predict if scope["method"] == "POST" else wrong_method)(self.state, scope, receive, send)
        else:
            await self.routes(scope, receive, send)

    async def refuse(self, scope: Scope, send: Send) -> None:
        """401, counted in the metrics and written to the access log like any answer."""
        started = time.perf_counter()
        rid = request_id(scope)
        status = await auth.refuse(send, rid)
        self.state.observe(scope, status, time.perf_counter() - started, rid, predicted_module(scope))


def info_routes() -> list[BaseRoute]:
    return [
        *page.page_routes(),
        Route("/modules", info.modules, methods=["GET"]),
        Route("/metrics", info.metrics, methods=["GET"]),
        Route("/health", info.health, methods=["GET"]),
        Route("/ready", info.ready, methods=["GET"]),
        Route("/v2/health/live", info.health, methods=["GET"]),
        Route("/v2/health/ready", info.ready, methods=["GET"]),
        *admin_routes(),
    ]


def create_app(state: ServingState) -> ASGIApp:
    """The ASGI app serving ``state``'s modules; CORS only when origins are configured."""
    app: ASGIApp = HubApp(state)
    origins = list(state.config.cors_origins)
    if origins:
        app = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["content-type", "authorization", "x-api-key", "x-request-id"],
            expose_headers=["x-request-id", "retry-after"],
            max_age=600,
        )
    return app
