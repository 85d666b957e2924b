"""The Starlette application: explicit routes, nothing else."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from hubserving.http import info
from hubserving.http.predict import predict
from hubserving.http.state import ServingState


def create_app(state: ServingState) -> Starlette:
    """The ASGI app serving ``state``'s modules."""
    routes = [
        Route("/predict/{module}", predict, methods=["POST"]),
        Route("/", info.index, methods=["GET"]),
        Route("/modules", info.modules, methods=["GET"]),
        Route("/health", info.health, methods=["GET"]),
        Route("/ready", info.ready, methods=["GET"]),
        Route("/v2/health/live", info.health, methods=["GET"]),
        Route("/v2/health/ready", info.ready, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.serving = state
    return app
