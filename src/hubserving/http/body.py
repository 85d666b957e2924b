"""A prediction request's body, checked before any worker sees it: who may post it, its media type,
its encoding and its size; multipart forms are turned into the JSON they stand for.
"""

from __future__ import annotations

from hubserving.errors import Code, RequestError
from hubserving.http.asgi import JSON, Failure, Receive, Scope, failure, header
from hubserving.http.multipart import multipart_to_json
from hubserving.http.origin import is_cross_site_form
from hubserving.http.state import ServingState

MULTIPART = b"multipart/form-data"
IDENTITY = b"identity"


class ClientGone(Exception):
    """The client closed the connection before the whole body arrived."""


async def read_body(
    state: ServingState, module: str, scope: Scope, receive: Receive
) -> bytes | bytearray | Failure:
    """The JSON body to send to the predictor, or the answer that refuses the request."""
    content_type = header(scope, b"content-type") or b""
    media_type = content_type.split(b";", 1)[0].strip().lower()
    refused = _refusal(state, scope, content_type, media_type)
    if refused is not None:
        return refused
    limit = state.config.max_body_bytes
    declared = header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return _too_large(limit)
    try:
        body = await _read_whole(receive, limit)
    except ClientGone:
        return failure(Code.MALFORMED_JSON, "the client closed the connection before the whole body arrived")
    if body is None:
        return _too_large(limit)
    if media_type != MULTIPART:
        return body
    try:
        return await multipart_to_json(content_type, body, state.description(module))
    except RequestError as error:
        return failure(error.code, str(error))


def _refusal(state: ServingState, scope: Scope, content_type: bytes, media_type: bytes) -> Failure | None:
    """What is wrong with the request's headers, before its body is read."""
    if is_cross_site_form(scope, media_type, state.allowed_origins):
        return _cross_site(header(scope, b"origin") or b"")
    if media_type != JSON and not media_type.endswith(b"+json") and media_type != MULTIPART:
        return _wrong_content_type(content_type)
    encoding = header(scope, b"content-encoding")
    if encoding is not None and encoding.strip().lower() not in (b"", IDENTITY):
        return _encoded(encoding)
    return None


async def _read_whole(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None when it is larger than ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(limit_bytes: int) -> Failure:
    shown_mb = f"{limit_bytes / 1024 / 1024:.2f}".rstrip("0").rstrip(".")
    message = f"the request body is over {shown_mb} MB (the server's max_body_mb); send less per request"
    return failure(Code.BODY_TOO_LARGE, message)


def _wrong_content_type(content_type: bytes) -> Failure:
    shown = content_type.decode("latin-1") or "none"
    message = (
        "post the arguments as JSON with the header 'Content-Type: application/json' "
        f"(or images as multipart/form-data); got {shown!r}"
    )
    return failure(Code.NOT_JSON_CONTENT_TYPE, message)


def _encoded(encoding: bytes) -> Failure:
    shown = encoding.decode("latin-1")
    message = (
        f"the body is sent with 'Content-Encoding: {shown}', which this server does not decode; "
        "send it uncompressed (drop the Content-Encoding header)"
    )
    return failure(Code.UNSUPPORTED_ENCODING, message)


def _cross_site(origin: bytes) -> Failure:
    shown = origin.decode("latin-1")
    message = (
        f"a form posted by a page of {shown!r} is refused: browsers send forms to any site without "
        "asking, so only this server's own page and the origins given to --cors may post them; "
        "a web app should post JSON (Content-Type: application/json) from an origin allowed by --cors"
    )
    return failure(Code.NOT_JSON_CONTENT_TYPE, message)
