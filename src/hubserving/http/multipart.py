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
from hubserving.http.asgi import Message, Receive, Scope

LIST_FIELDS = frozenset({"images", "texts", "text"})


def _field_value(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def _replay(body: bytes) -> Receive:
    """A receive callable that hands over an already-read body."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _add(body: dict[str, Any], name: str, value: Any, as_list: bool) -> None:
    """A field's value; a name given more than once becomes a list of its values."""
    if name in body:
        previous = body[name]
        body[name] = [*(previous if isinstance(previous, list) else [previous]), value]
    else:
        body[name] = [value] if as_list else value


async def multipart_to_json(scope: Scope, raw: bytes) -> bytes:
    """The JSON body equivalent to an already-read multipart form; RequestError for a malformed one."""
    request = Request(scope, _replay(raw))
    try:
        form = await request.form(max_files=1000, max_fields=1000, max_part_size=len(raw) + 1)
    except Exception as error:  # the parser raises several types for broken bodies
        raise RequestError(f"the multipart body cannot be read: {error}", Code.MALFORMED_JSON) from None
    body: dict[str, Any] = {}
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read()
                _add(body, name, base64.b64encode(data).decode("ascii"), as_list=True)
            else:
                _add(body, name, value if name in LIST_FIELDS else _field_value(value), name in LIST_FIELDS)
    finally:
        await form.close()
    return orjson.dumps(body)
