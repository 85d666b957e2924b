"""Multipart uploads as a second way to send inputs: turned into the same JSON a client would post.

File fields become base64 strings in a list under their field name (``images``). A text field named
like the module's input argument (or one of its aliases) becomes a list when that argument takes
one (``texts``); other text fields are JSON values when they parse as JSON (``top_k=3``,
``visualization=true``), else strings. A name given more than once becomes a list of its values.
Bodies over ``THREAD_ABOVE_BYTES`` are parsed in a thread: a 60 MB upload must not hold up the
event loop that answers everyone else.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from hubserving.errors import Code, RequestError
from hubserving.runtime.messages import ModuleDescription

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_PARTS = 1000
THREAD_ABOVE_BYTES = 256 * 1024
FEED_BYTES = 1024 * 1024  # the parser is fed this much at a time, so other threads get the GIL between
BASE64_CHUNK_BYTES = 3 * 1024 * 1024  # a multiple of 3: chunks encode independently (same reason)


@dataclass
class Part:
    """One form field as it arrived."""

    name: str
    is_file: bool
    data: bytearray = field(default_factory=bytearray)


@dataclass
class FormReader:
    """python-multipart's callbacks, collecting the parts of one form."""

    parts: list[Part] = field(default_factory=list)
    ended: bool = False
    _header_name: bytearray = field(default_factory=bytearray)
    _header_value: bytearray = field(default_factory=bytearray)
    _disposition: bytes = b""

    def on_part_begin(self) -> None:
        self._disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise RequestError(
                "a part of the multipart form has no name: each needs "
                "'Content-Disposition: form-data; name=\"...\"'",
                Code.MALFORMED_JSON,
            )
        if len(self.parts) >= MAX_PARTS:
            raise RequestError(
                f"the multipart form has over {MAX_PARTS} parts; send fewer", Code.MALFORMED_JSON
            )
        self.parts.append(Part(_text(options[b"name"]), b"filename" in options))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self.parts[-1].data += data[start:end]

    def on_end(self) -> None:
        self.ended = True

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_end": self.on_end,
        }


def _text(raw: bytes | bytearray) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def list_fields(description: ModuleDescription | None) -> frozenset[str]:
    """The text fields that become lists: the module's input argument and its aliases, if it takes a list."""
    if description is None or description.input_arg is None:
        return frozenset()
    argument = description.input_arg
    hint = next((p.type for p in description.parameters if p.name == argument), "")
    if argument != description.batch_arg and not hint.lower().startswith(("list", "sequence")):
        return frozenset()
    aliases = (alias for alias, target in description.aliases.items() if target == argument)
    return frozenset({argument, *aliases})


def read_form(content_type: bytes, raw: bytes) -> list[Part]:
    """The parts of a whole multipart body; RequestError for a malformed one."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise RequestError(
            "the multipart Content-Type has no boundary: let the HTTP client build the form "
            "(e.g. curl -F images=@photo.jpg) rather than setting the header by hand",
            Code.MALFORMED_JSON,
        )
    reader = FormReader()
    parser = MultipartParser(boundary, reader.callbacks())
    try:
        for start in range(0, len(raw), FEED_BYTES):
            parser.write(raw[start : start + FEED_BYTES])
        parser.finalize()
    except FormParserError as error:
        raise RequestError(f"the multipart body cannot be read: {error}", Code.MALFORMED_JSON) from None
    if not reader.ended:
        raise RequestError(
            "the multipart body ends before its closing boundary; send the whole form", Code.MALFORMED_JSON
        )
    return reader.parts


def _field_json(text: str) -> bytes:
    """A text field's value as JSON: itself when it is JSON (``3``, ``true``), else the string."""
    try:
        return orjson.dumps(orjson.loads(text))
    except orjson.JSONDecodeError:
        return orjson.dumps(text)


def _value_pieces(part: Part, as_list_field: bool) -> Iterator[bytes]:
    if not part.is_file:
        text = _text(part.data)
        yield orjson.dumps(text) if as_list_field else _field_json(text)
        return
    yield b'"'  # base64 needs no JSON escaping
    view = memoryview(part.data)
    for start in range(0, len(view), BASE64_CHUNK_BYTES):
        yield base64.b64encode(view[start : start + BASE64_CHUNK_BYTES])
    yield b'"'


def _json_pieces(parts: list[Part], list_names: frozenset[str]) -> Iterator[bytes]:
    by_name: dict[str, list[Part]] = {}
    for part in parts:
        by_name.setdefault(part.name, []).append(part)
    yield b"{"
    for index, (name, group) in enumerate(by_name.items()):
        as_list = group[0].is_file or name in list_names or len(group) > 1
        yield (b"," if index else b"") + orjson.dumps(name) + (b":[" if as_list else b":")
        for number, part in enumerate(group):
            yield b"," if number else b""
            yield from _value_pieces(part, name in list_names)
        yield b"]" if as_list else b""
    yield b"}"


def form_to_json(parts: list[Part], list_names: frozenset[str]) -> bytearray:
    """The JSON object the form stands for, built in pieces of a few MB: each step holds the GIL
    only briefly. A bytearray: turning 80 MB into bytes would be one more long copy."""
    body = bytearray()
    for piece in _json_pieces(parts, list_names):
        body += piece
    return body


def multipart_json(content_type: bytes, raw: bytes, list_names: frozenset[str]) -> bytearray:
    """The JSON body equivalent to a whole multipart form; RequestError for a malformed one."""
    return form_to_json(read_form(content_type, raw), list_names)


async def multipart_to_json(
    content_type: bytes, raw: bytes, description: ModuleDescription | None
) -> bytearray:
    """``multipart_json`` for the module ``description`` describes; in a thread when the body is large."""
    list_names = list_fields(description)
    if len(raw) > THREAD_ABOVE_BYTES:
        return await asyncio.to_thread(multipart_json, content_type, raw, list_names)
    return multipart_json(content_type, raw, list_names)
