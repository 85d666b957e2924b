"""The ASGI application: the prediction hot path, and Starlette for every other route."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from hubserving.http import info
from hubserving.http.predict import PREFIX, Receive, Scope, Send, predict
from hubserving.http.state import ServingState


class HubApp:
    """Sends ``POST /predict/<module>`` straight to the predict handler, the rest to Starlette."""

    def __init__(self, state: ServingState) -> None:
        self.state = state
        self.routes = Starlette(routes=info_routes())
        self.routes.state.serving = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].startswith(PREFIX):
            await predict(self.state, scope, receive, send)
        else:
            await self.routes(scope, receive, send)


def info_routes() -> list[Route]:
    return [
        Route("/", info.index, methods=["GET"]),
        Route("/modules", info.modules, methods=["GET"]),
        Route("/health", info.health, methods=["GET"]),
        Route("/ready", info.ready, methods=["GET"]),
        Route("/v2/health/live", info.health, methods=["GET"]),
        Route("/v2/health/ready", info.ready, methods=["GET"]),
    ]


def create_app(state: ServingState) -> HubApp:
    """The ASGI app serving ``state``'s modules."""
    return HubApp(state)
