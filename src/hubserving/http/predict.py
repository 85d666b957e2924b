"""``POST /predict/<module>``: check the envelope-level rules, then hand the body to a worker.

Written against ASGI directly: this is the hot path, and Starlette's request and middleware
objects cost more per request than the rest of the front together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from hubserving import envelope
from hubserving.errors import Code
from hubserving.http.state import ServingState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PREFIX = "/predict/"
JSON = b"application/json"


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def _respond(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", JSON), (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None when it is larger than ``limit`` bytes."""
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
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


async def predict(state: ServingState, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one prediction request with the envelope."""
    module = scope["path"][len(PREFIX) :]
    if module not in state.module_names:
        body = envelope.failure(Code.MODULE_NOT_AVAILABLE, f"Module {module} is not available.")
        return await _respond(send, 404, body)
    content_type = _header(scope, b"content-type") or b""
    if not content_type.lower().startswith(JSON):
        shown = content_type.decode("latin-1") or "none"
        message = (
            f"post the arguments as JSON with the header 'Content-Type: application/json' (got {shown!r})"
        )
        return await _respond(send, 415, envelope.failure(Code.NOT_JSON_CONTENT_TYPE, message))
    request_body = await _read_body(scope, receive, state.config.max_body_bytes)
    if request_body is None:
        limit_mb = state.config.max_body_bytes / 1024 / 1024
        message = f"the request body is over {limit_mb:g} MB; send less per request"
        return await _respond(send, 413, envelope.failure(Code.BODY_TOO_LARGE, message))
    reply = await state.pool.predict(module, request_body)
    await _respond(send, reply.http_status, reply.body)
