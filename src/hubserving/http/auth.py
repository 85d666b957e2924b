"""The API key: required on every route but health, as ``Authorization: Bearer`` or ``X-API-Key``."""

from __future__ import annotations

import hmac

from hubserving.errors import Code
from hubserving.http.asgi import Scope, Send, failure, header, respond

OPEN_PATHS = frozenset({"/health", "/ready", "/v2/health/live", "/v2/health/ready", "/"})
OPEN_PREFIXES = ("/static/",)  # the web page's scripts and styles: they hold no data
STATUS, UNAUTHORIZED = failure(
    Code.UNAUTHORIZED,
    "this server needs an API key: send the header 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
)


def presented_key(scope: Scope) -> bytes | None:
    authorization = header(scope, b"authorization")
    if authorization and authorization[:7].lower() == b"bearer ":
        return authorization[7:].strip()
    return header(scope, b"x-api-key")


def is_allowed(scope: Scope, api_key: bytes) -> bool:
    """Health routes and the web page are open; everything else needs the key."""
    if scope["path"] in OPEN_PATHS or scope["path"].startswith(OPEN_PREFIXES):
        return True
    key = presented_key(scope)
    return key is not None and hmac.compare_digest(key, api_key)


async def refuse(send: Send, request_id: bytes) -> int:
    """Answer 401; returns the status sent."""
    await respond(
        send, STATUS, UNAUTHORIZED, [(b"www-authenticate", b"Bearer"), (b"x-request-id", request_id)]
    )
    return STATUS
