"""Plain ASGI helpers for the hot path: header lookup, request ids, and one-shot responses."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from hubserving import envelope
from hubserving.errors import Code

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]
Failure = tuple[int, bytes]  # HTTP status and envelope of a refused request

JSON = b"application/json"
MAX_REQUEST_ID_LENGTH = 128


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of request header ``name`` (lower case), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def request_id(scope: Scope) -> bytes:
    """The client's ``X-Request-ID`` when it is sane, else a new one."""
    given = header(scope, b"x-request-id")
    if given and len(given) <= MAX_REQUEST_ID_LENGTH and all(33 <= byte < 127 for byte in given):
        return given
    return uuid.uuid4().hex.encode()


def client_host(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "-"


def failure(code: Code, message: str) -> Failure:
    """The answer to a refused request: the code's HTTP status (``errors.Code``) and the envelope."""
    return code.http_status, envelope.failure(code, message)


async def respond(send: Send, status: int, body: bytes, headers: Headers | None = None) -> None:
    """Send a complete JSON response."""
    response_headers = [(b"content-type", JSON), (b"content-length", str(len(body)).encode())]
    if headers:
        response_headers += headers
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": body})
