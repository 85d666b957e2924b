"""The Open Inference Protocol's REST routes, on the server's HTTP port.

Errors are ``{"error": "..."}`` with the HTTP status the protocol asks for. Inference is a plain
ASGI endpoint (no Starlette request object) that reads the body once and hands it to ``rest.py``.
"""

from __future__ import annotations

import logging
import time
import zlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hubserving import envelope
from hubserving.http.asgi import Headers, Receive, Scope, Send, header, request_id
from hubserving.http.state import ServingState
from hubserving.logs import escape
from hubserving.v2 import codec, models, rest
from hubserving.v2.errors import V2Error
from hubserving.v2.infer import infer

JSON = b"application/json"
BINARY = b"application/octet-stream"
HEADER_LENGTH = b"inference-header-content-length"
RETRY_AFTER_S = b"1"
_DECODERS = {b"gzip": 31, b"x-gzip": 31, b"deflate": 15}  # zlib wbits for each Content-Encoding

logger = logging.getLogger("hubserving.http")


def v2_routes() -> list[BaseRoute]:
    """Every V2 route; mount them on the app that serves ``/predict`` (``app.state.serving`` set)."""
    model = "/v2/models/{name}"
    versioned = "/v2/models/{name}/versions/{version}"
    return [
        Route("/v2", server_metadata, methods=["GET"]),
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        *(Route(path, model_metadata, methods=["GET"]) for path in (model, versioned)),
        *(Route(f"{path}/ready", model_ready, methods=["GET"]) for path in (model, versioned)),
        *(Route(f"{path}/infer", InferEndpoint(), methods=["POST"]) for path in (model, versioned)),
    ]


def _state(request: Request) -> ServingState:
    state: ServingState = request.app.state.serving
    return state


def _json(value: Any, status: int = 200) -> Response:
    return Response(envelope.dumps(value), status, media_type="application/json")


def _error(error: V2Error) -> Response:
    return _json({"error": error.message}, error.status)


async def server_metadata(request: Request) -> Response:
    return _json(models.server_metadata())


async def live(request: Request) -> Response:
    """The process answers."""
    return _json({"live": True})


async def ready(request: Request) -> Response:
    """Every model is loaded everywhere it runs: 200, else 503."""
    is_ready = _state(request).predictor.ready
    return _json({"ready": is_ready}, 200 if is_ready else 503)


async def model_metadata(request: Request) -> Response:
    name, version = request.path_params["name"], request.path_params.get("version", "")
    try:
        description = models.find_model(_state(request), name, version)
    except V2Error as error:
        return _error(error)
    return _json(codec.metadata(description).to_json())


async def model_ready(request: Request) -> Response:
    """200 when the model answers requests, 503 while it loads, 404 when it is not served."""
    name, version = request.path_params["name"], request.path_params.get("version", "")
    try:
        is_ready = models.model_ready(_state(request), name, version)
    except V2Error as error:
        return _error(error)
    return _json({"name": name, "ready": is_ready}, 200 if is_ready else 503)


Answer = tuple[int, Headers, bytes, int]  # status, headers, body, batch size
MODELS = "/v2/models/"
INFER = "/infer"


def infer_target(path: str) -> tuple[str, str] | None:
    """(model, version) of ``/v2/models/<name>[/versions/<v>]/infer``; None for any other path."""
    if not (path.startswith(MODELS) and path.endswith(INFER)):
        return None
    parts = path[len(MODELS) : -len(INFER)].split("/")
    if len(parts) == 1 and parts[0]:
        return parts[0], ""
    if len(parts) == 3 and parts[1] == "versions" and parts[0] and parts[2]:
        return parts[0], parts[2]
    return None


class InferEndpoint:
    """The inference route as Starlette mounts it (``app.state.serving`` holds the state)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = scope["path_params"]
        state = scope["app"].state.serving
        await infer_asgi(state, scope, receive, send, params["name"], params.get("version", ""))


async def infer_asgi(
    state: ServingState, scope: Scope, receive: Receive, send: Send, model: str, version: str
) -> None:
    """``POST /v2/models/<model>[/versions/<version>]/infer``: JSON or binary tensors in and out.

    Plain ASGI, so the app may call it before its router, as it does ``/predict``.
    """
    started = time.perf_counter()
    rid = request_id(scope)
    try:
        status, headers, body, batch_size = await _answer(state, scope, receive, model, version)
    except Exception:
        status, headers, body, batch_size = _internal_error(scope, rid)
    headers += [(b"content-length", str(len(body)).encode()), (b"x-request-id", rid)]
    if status == 503:
        headers.append((b"retry-after", RETRY_AFTER_S))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    state.observe(scope, status, time.perf_counter() - started, rid, model, batch_size)


async def _answer(state: ServingState, scope: Scope, receive: Receive, model: str, version: str) -> Answer:
    try:
        body = await read_body(scope, receive, state.config.max_body_bytes)
        request = rest.parse_request(model, version, body, _header_length(scope))
        response = await infer(state, request)
        content, json_length = rest.encode_response(request, response)
    except V2Error as error:
        return error.status, [(b"content-type", JSON)], envelope.dumps({"error": error.message}), 0
    if json_length is None:
        return 200, [(b"content-type", JSON)], content, response.batch_size
    headers = [(b"content-type", BINARY), (HEADER_LENGTH, str(json_length).encode())]
    return 200, headers, content, response.batch_size


def _header_length(scope: Scope) -> int | None:
    value = header(scope, HEADER_LENGTH)
    if value is None:
        return None
    if not value.strip().isdigit():
        raise V2Error(f"Inference-Header-Content-Length must be a number of bytes, got {value!r}")
    return int(value)


def _internal_error(scope: Scope, rid: bytes) -> Answer:
    logger.exception("request %s to %s failed inside the server", rid.decode(), escape(scope["path"]))
    message = f"the server failed on this request (request id {rid.decode()}; the traceback is in its log)"
    return 500, [(b"content-type", JSON)], envelope.dumps({"error": message}), 0


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body, decompressed when it came gzip- or deflate-encoded; V2Error past ``limit`` bytes."""
    declared = header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise V2Error("the client closed the connection before the whole body arrived")
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            raise _too_large(limit)
        more = message.get("more_body", False)
    return _decoded(header(scope, b"content-encoding"), b"".join(chunks), limit)


def _decoded(encoding: bytes | None, body: bytes, limit: int) -> bytes:
    name = (encoding or b"identity").strip().lower()
    if name in (b"", b"identity"):
        return body
    if name not in _DECODERS:
        raise V2Error(f"Content-Encoding {escape(name.decode('latin-1'))!r} is not supported; use gzip", 415)
    decoder = zlib.decompressobj(_DECODERS[name])
    try:
        decoded = decoder.decompress(body, limit + 1)
    except zlib.error as error:
        raise V2Error(f"the {name.decode()} body does not decompress: {error}") from None
    if len(decoded) > limit:
        raise _too_large(limit)
    return decoded


def _too_large(limit_bytes: int) -> V2Error:
    shown_mb = f"{limit_bytes / 1024 / 1024:.2f}".rstrip("0").rstrip(".")
    return V2Error(f"the request body is over {shown_mb} MB (the server's max_body_mb); send less", 413)
