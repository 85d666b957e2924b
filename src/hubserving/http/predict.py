"""``POST /predict/<module>``: check the envelope-level rules, then hand the body to the predictor.

Written against ASGI directly: this is the hot path, and Starlette's request and middleware
objects cost more per request than the rest of the front together.
"""

from __future__ import annotations

import logging
import time

from hubserving.errors import Code
from hubserving.http.asgi import Headers, Receive, Scope, Send, failure, request_id, respond
from hubserving.http.body import read_body
from hubserving.http.state import ServingState
from hubserving.logs import escape

PREFIX = "/predict/"
RETRY_AFTER_S = b"1"

logger = logging.getLogger("hubserving.http")

Answer = tuple[int, bytes, int, int]  # HTTP status, envelope, batch size, workers it was sent to


def predicted_module(scope: Scope) -> str | None:
    """The module a prediction route names; None for other routes."""
    path: str = scope["path"]
    return path[len(PREFIX) :] if path.startswith(PREFIX) else None


async def _answer(state: ServingState, module: str, scope: Scope, receive: Receive) -> Answer:
    if module not in state.module_names:
        return *failure(Code.MODULE_NOT_AVAILABLE, f"Module {module} is not available."), 0, 1
    body = await read_body(state, module, scope, receive)
    if isinstance(body, tuple):
        return *body, 0, 1
    reply = await state.predictor.predict(module, body)
    return reply.http_status, reply.body, reply.batch_size, reply.attempts


def _internal_error(scope: Scope, rid: bytes) -> Answer:
    logger.exception("request %s to %s failed inside the server", rid.decode(), escape(scope["path"]))
    message = f"the server failed on this request (request id {rid.decode()}; the traceback is in its log)"
    return *failure(Code.INTERNAL, message), 0, 1


async def predict(state: ServingState, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one prediction request with the envelope, its request id, and a metrics and log entry."""
    started = time.perf_counter()
    rid = request_id(scope)
    module = scope["path"][len(PREFIX) :]
    try:
        status, body, batch_size, attempts = await _answer(state, module, scope, receive)
    except Exception:
        status, body, batch_size, attempts = _internal_error(scope, rid)
    headers: Headers = [(b"x-request-id", rid)]
    if status == 503:
        headers.append((b"retry-after", RETRY_AFTER_S))
    await respond(send, status, body, headers)
    state.observe(scope, status, time.perf_counter() - started, rid, module, batch_size, attempts)


async def wrong_method(state: ServingState, scope: Scope, receive: Receive, send: Send) -> None:
    """Anything but POST on a prediction route: 405 with the envelope."""
    started = time.perf_counter()
    rid = request_id(scope)
    message = f"use POST with a JSON body on {scope['path']}, not {scope['method']}"
    status, body = failure(Code.METHOD_NOT_ALLOWED, message)
    await respond(send, status, body, [(b"allow", b"POST"), (b"x-request-id", rid)])
    state.observe(scope, status, time.perf_counter() - started, rid, predicted_module(scope))
