"""The response envelope: ``{"msg": "", "results": ..., "status": "0"}``, as bytes.

Results are serialised once, by orjson (numpy arrays and scalars included; Chinese stays UTF-8).
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

import orjson

from hubserving.errors import Code

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
_SUCCESS_HEAD = b'{"msg":"","results":'
_SUCCESS_TAIL = b',"status":"0"}'


class NotJSONSerializable(TypeError):
    """A serving method returned something that has no JSON form."""


def _fallback(value: Any) -> Any:
    """What orjson does not know natively: numpy scalars without the option, sets, paths."""
    if hasattr(value, "tolist"):  # numpy scalars and arrays of unusual dtypes
        return value.tolist()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, PurePath):
        return str(value)
    raise NotJSONSerializable(f"a {type(value).__name__} cannot be sent as JSON")


def dumps(value: Any) -> bytes:
    """JSON bytes for any result a module may return."""
    return orjson.dumps(value, default=_fallback, option=_OPTIONS)


def success(results: Any) -> bytes:
    """The envelope of a successful call."""
    return _SUCCESS_HEAD + dumps(results) + _SUCCESS_TAIL


def failure(code: Code, message: str) -> bytes:
    """The envelope of a failed call: no results, a message that says what to fix."""
    return orjson.dumps({"msg": message, "results": "", "status": code.status})
