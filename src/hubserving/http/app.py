"""The ASGI application: the prediction hot path, and Starlette for every other route."""

from __future__ import annotations

import time

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from hubserving.http import auth, info, page
from hubserving.http.admin import admin_routes
from hubserving.http.asgi import Message, Receive, Scope, Send, request_id
from hubserving.http.predict import PREFIX, predict, predicted_module, wrong_method
from hubserving.http.state import ServingState
from hubserving.v2.http import infer_asgi, infer_target, v2_routes
from hubserving.v2.openapi import openapi_routes


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
        elif scope["method"] == "POST" and (target := infer_target(scope["path"])) is not None:
            await infer_asgi(self.state, scope, receive, send, *target)
        else:
            await self.routes(scope, receive, send)

    async def refuse(self, scope: Scope, send: Send) -> None:
        """401, counted in the metrics and written to the access log like any answer."""
        started = time.perf_counter()
        rid = request_id(scope)
        status = await auth.refuse(send, rid)
        self.state.observe(scope, status, time.perf_counter() - started, rid, predicted_module(scope))


class RequestIdHeader:
    """Every HTTP answer carries ``X-Request-ID``: the one its handler set (``/predict`` logs it), else
    the client's or a new one (health checks, the page, ``/metrics``, 404s, 405s, CORS preflights)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or sets_own_id(scope):
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers") or []
                if not any(key.lower() == b"x-request-id" for key, _ in headers):
                    message["headers"] = [*headers, (b"x-request-id", request_id(scope))]
            await send(message)

        await self.app(scope, receive, send_with_id)


def sets_own_id(scope: Scope) -> bool:
    """``POST /predict/<module>`` sets (and logs) its own id: the hot path skips the wrapper."""
    path: str = scope["path"]
    return scope["method"] == "POST" and path.startswith(PREFIX)


def info_routes() -> list[BaseRoute]:
    return [
        *page.page_routes(),
        Route("/modules", info.modules, methods=["GET"]),
        Route("/metrics", info.metrics, methods=["GET"]),
        Route("/health", info.health, methods=["GET"]),
        Route("/ready", info.ready, methods=["GET"]),
        *v2_routes(),
        *openapi_routes(),
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
    return RequestIdHeader(app)
