"""Type hints as checks of JSON values: ``list[str]``, ``int | None``, ``dict[str, Any]`` ...

A serving method's hints are compiled once, when the module loads, into small functions that
return None for a value that fits and a short description of the first part that does not.
Hints that JSON cannot be checked against (a class, an array type) are not checked.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

# Returns None when the value fits, else what is wrong, for a message: "texts[1] is a number (3)".
Check = Callable[[Any, str], str | None]

_JSON_NAMES: dict[type, str] = {
    bool: "true/false",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "an object",
    type(None): "null",
}


def json_kind(value: Any) -> str:
    """How a JSON value reads to a client: ``a string ("three")``, ``a list``."""
    name = _JSON_NAMES.get(type(value), type(value).__name__)
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:17] + "..."
        return f'{name} ("{shown}")'
    if isinstance(value, bool | int | float):
        return f"{name} ({str(value).lower() if isinstance(value, bool) else value})"
    return name


def _scalar(kind: type) -> Check:
    def check(value: Any, path: str) -> str | None:
        fits = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
        if kind is float and not fits and isinstance(value, int) and not isinstance(value, bool):
            fits = True  # JSON has one number type: 3 is a fine float
        if fits and kind is float and not math.isfinite(value):
            fits = False
        return None if fits else f"{path} is {json_kind(value)}"

    return check


def _none(value: Any, path: str) -> str | None:
    return None if value is None else f"{path} is {json_kind(value)}"


def _list_of(item: Check | None) -> Check:
    def check(value: Any, path: str) -> str | None:
        if not isinstance(value, list | tuple):
            return f"{path} is {json_kind(value)}"
        if item is not None:
            for index, element in enumerate(value):
                if item(element, path) is not None:  # the element's own path only for the message
                    return item(element, f"{path}[{index}]")
        return None

    return check


def _dict_of(item: Check | None) -> Check:
    def check(value: Any, path: str) -> str | None:
        if not isinstance(value, dict):
            return f"{path} is {json_kind(value)}"
        if item is not None:
            for key, element in value.items():
                problem = item(element, f"{path}[{key!r}]")
                if problem is not None:
                    return problem
        return None

    return check


def _any_of(options: Sequence[Check]) -> Check:
    def check(value: Any, path: str) -> str | None:
        if any(option(value, path) is None for option in options):
            return None  # the usual case, decided without writing any message
        problems = [option(value, path) for option in options]
        deepest = [
            problem for problem in problems if problem is not None and not problem.startswith(path + " ")
        ]
        return deepest[0] if deepest else f"{path} is {json_kind(value)}"

    return check


def _literal(allowed: tuple[Any, ...]) -> Check:
    def check(value: Any, path: str) -> str | None:
        fits = any(value == option and type(value) is type(option) for option in allowed)
        return None if fits else f"{path} is {json_kind(value)}"

    return check


_SCALARS = (bool, int, float, str)


def compile_hint(hint: Any) -> Check | None:
    """A check for ``hint``, or None when the hint says nothing JSON can be checked against."""
    if hint is None or hint is type(None):
        return _none
    if hint in _SCALARS:
        return _scalar(hint)
    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)
    if hint is list or origin in (list, Sequence, tuple) or hint is tuple:
        return _list_of(compile_hint(arguments[0]) if arguments else None)
    if hint is dict or origin in (dict, Mapping):
        return _dict_of(compile_hint(arguments[1]) if len(arguments) == 2 else None)
    if origin is typing.Union or origin is types.UnionType:
        options = [compile_hint(argument) for argument in arguments]
        if any(option is None for option in options):
            return None  # one of them accepts anything we cannot check
        return _any_of([option for option in options if option is not None])
    if origin is typing.Literal:
        return _literal(arguments)
    return None


def hint_text(hint: Any) -> str:
    """How a hint reads in messages and descriptions: ``list[str] | None``."""
    if hint is type(None):
        return "None"
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    return str(hint).replace("typing.", "")
