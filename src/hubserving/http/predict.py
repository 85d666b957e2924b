"""``POST /predict/<module>``: check the envelope-level rules, then hand the body to a worker.

Written against ASGI directly: this is the hot path, and Starlette's request and middleware
objects cost more per request than the rest of the front together.
"""

from __future__ import annotations

import logging
import time
import uuid

from hubserving import envelope
from hubserving.errors import Code, RequestError
from hubserving.http.asgi import JSON, Headers, Receive, Scope, Send, header, respond
from hubserving.http.multipart import multipart_to_json
from hubserving.http.state import ServingState

PREFIX = "/predict/"
MULTIPART = b"multipart/form-data"

logger = logging.getLogger("hubserving.http")
MAX_REQUEST_ID_LENGTH = 128
RETRY_AFTER_S = b"1"


def request_id(scope: Scope) -> bytes:
    """The client's ``X-Request-ID`` when it is sane, else a new one."""
    given = header(scope, b"x-request-id")
    if given and len(given) <= MAX_REQUEST_ID_LENGTH and all(33 <= byte < 127 for byte in given):
        return given
    return uuid.uuid4().hex.encode()


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None when it is larger than ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(state: ServingState) -> tuple[int, bytes, int]:
    limit_mb = state.config.max_body_bytes / 1024 / 1024
    message = f"the request body is over {limit_mb:g} MB; send less per request"
    return 413, envelope.failure(Code.BODY_TOO_LARGE, message), 0


def _wrong_content_type(content_type: bytes) -> tuple[int, bytes, int]:
    shown = content_type.decode("latin-1") or "none"
    message = (
        "post the arguments as JSON with the header 'Content-Type: application/json' "
        f"(or images as multipart/form-data); got {shown!r}"
    )
    return 415, envelope.failure(Code.NOT_JSON_CONTENT_TYPE, message), 0


async def _body(state: ServingState, scope: Scope, receive: Receive) -> bytes | tuple[int, bytes, int]:
    """The JSON body to send to a worker, or the error answer."""
    content_type = header(scope, b"content-type") or b""
    media_type = content_type.split(b";", 1)[0].strip().lower()
    is_json = media_type == JSON or media_type.endswith(b"+json")
    if not is_json and media_type != MULTIPART:
        return _wrong_content_type(content_type)
    limit = state.config.max_body_bytes
    declared = header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return _too_large(state)
    body = await _read_body(receive, limit)
    if body is None:
        return _too_large(state)
    if is_json:
        return body
    try:
        return await multipart_to_json(scope, body)
    except RequestError as error:
        return error.http_status, envelope.failure(error.code, str(error)), 0


async def _answer(state: ServingState, module: str, scope: Scope, receive: Receive) -> tuple[int, bytes, int]:
    """HTTP status, envelope and batch size for one request."""
    if module not in state.module_names:
        return 404, envelope.failure(Code.MODULE_NOT_AVAILABLE, f"Module {module} is not available."), 0
    body = await _body(state, scope, receive)
    if isinstance(body, tuple):
        return body
    reply = await state.pool.predict(module, body)
    return reply.http_status, reply.body, reply.batch_size


async def wrong_method(state: ServingState, scope: Scope, receive: Receive, send: Send) -> None:
    """Anything but POST on a prediction route: 405 with the envelope."""
    message = f"use POST with a JSON body on {scope['path']}, not {scope['method']}"
    await respond(send, 405, envelope.failure(Code.METHOD_NOT_ALLOWED, message), [(b"allow", b"POST")])


async def predict(state: ServingState, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one prediction request with the envelope, its request id, and a metrics and log entry."""
    started = time.perf_counter()
    rid = request_id(scope)
    module = scope["path"][len(PREFIX) :]
    try:
        status, body, batch_size = await _answer(state, module, scope, receive)
    except Exception:
        logger.exception("request %s to %s failed inside the server", rid.decode(), scope["path"])
        message = (
            f"the server failed on this request (request id {rid.decode()}; the traceback is in its log)"
        )
        status, body, batch_size = 500, envelope.failure(Code.INTERNAL, message), 0
    headers: Headers = [(b"x-request-id", rid)]
    if status == 503:
        headers.append((b"retry-after", RETRY_AFTER_S))
    await respond(send, status, body, headers)
    seconds = time.perf_counter() - started
    if module in state.module_names:
        state.metrics.observe(module, status, seconds, batch_size)
    if state.access_log is not None:
        client = scope.get("client") or ("-", 0)
        state.access_log.record(client[0], module, status, seconds, rid.decode())
