"""Multipart uploads as a second way to send images: turned into the same JSON a client would post.

File fields become base64 strings in a list under their field name (``images``); other fields are
JSON values when they parse as JSON (``top_k=3``, ``visualization=true``), else strings.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request

from hubserving.errors import Code, RequestError
from hubserving.http.asgi import Receive, Scope

LIST_FIELDS = frozenset({"images", "texts", "text"})


def _field_value(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


async def multipart_to_json(scope: Scope, receive: Receive, max_bytes: int) -> bytes:
    """The JSON body equivalent to a multipart form; RequestError for a malformed one."""
    request = Request(scope, receive)
    try:
        form = await request.form(max_files=1000, max_fields=1000, max_part_size=max_bytes)
    except Exception as error:  # the parser raises several types for broken bodies
        raise RequestError(f"the multipart body cannot be read: {error}", Code.MALFORMED_JSON) from None
    body: dict[str, Any] = {}
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read()
                body.setdefault(name, []).append(base64.b64encode(data).decode("ascii"))
            elif name in LIST_FIELDS:
                body.setdefault(name, []).append(value)
            else:
                body[name] = _field_value(value)
    finally:
        await form.close()
    return orjson.dumps(body)
