"""Plain ASGI helpers for the hot path: header lookup, request ids, and one-shot responses."""

from __future__ import annotations

import functools
import itertools
import secrets
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


class RequestIds:
    """New request ids: 32 hex digits, a random prefix drawn once per process, then a counter.

    As unique as ``uuid4().hex`` (64 random bits tell processes apart, the counter tells requests
    apart) at a tenth of its cost: ``uuid4`` makes a system call and a ``UUID`` object each time.
    """

    def __init__(self) -> None:
        self.prefix = secrets.token_hex(8).encode()
        self.counter = itertools.count()

    def new(self) -> bytes:
        return b"%s%016x" % (self.prefix, next(self.counter))


@functools.cache
def request_ids() -> RequestIds:
    """This process's id source, made on first use (nothing happens at import)."""
    return RequestIds()


def request_id(scope: Scope) -> bytes:
    """The client's ``X-Request-ID`` when it is sane, else a new one."""
    given = header(scope, b"x-request-id")
    if given and len(given) <= MAX_REQUEST_ID_LENGTH and all(33 <= byte < 127 for byte in given):
        return given
    return request_ids().new()


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
