"""A serving method's type hints, read back from their text (``Parameter.type``: ``str | list[str] | None``).

The text is Python expression syntax, so ``ast`` parses it; the result is a JSON Schema (for the
OpenAPI document) and the facts the tensor mapping needs: which scalar types an argument takes and
whether it takes a list. Names this file does not know (a class, ``ndarray``) mean "any value".
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from typing import Any

Schema = dict[str, Any]

_SCALARS: dict[str, Schema] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "None": {"type": "null"},
    "NoneType": {"type": "null"},
    "bytes": {"type": "string"},
}
_LISTS = frozenset({"list", "List", "Sequence", "MutableSequence", "Iterable", "Collection", "set", "Set"})
_LISTS |= {"frozenset", "FrozenSet", "tuple", "Tuple"}
_MAPS = frozenset({"dict", "Dict", "Mapping", "MutableMapping"})
_UNIONS = frozenset({"Union", "Optional"})


def _name(node: ast.expr) -> str:
    """``collections.abc.Sequence`` -> ``Sequence``; anything else that is no name -> ``""``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return ""


def _arguments(node: ast.Subscript) -> list[ast.expr]:
    return list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]


def parse(text: str) -> ast.expr | None:
    """The hint's expression, or None when there is no hint or it is not Python syntax."""
    if not text.strip():
        return None
    try:
        return ast.parse(text, mode="eval").body
    except SyntaxError:
        return None


def alternatives(node: ast.expr) -> list[ast.expr]:
    """``a | b | None`` and ``Union[a, b]`` / ``Optional[a]`` -> their parts; anything else -> itself."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return alternatives(node.left) + alternatives(node.right)
    if isinstance(node, ast.Subscript) and _name(node.value) in _UNIONS:
        parts = [part for argument in _arguments(node) for part in alternatives(argument)]
        if _name(node.value) == "Optional":
            parts.append(ast.Constant(None))
        return parts
    if isinstance(node, ast.Subscript) and _name(node.value) == "Annotated":
        return alternatives(_arguments(node)[0])
    return [node]


def schema(text: str) -> Schema:
    """The JSON Schema of values that fit the hint ``text`` (``{}``: any value)."""
    node = parse(text)
    return {} if node is None else _schema(node)


def _schema(node: ast.expr) -> Schema:
    parts = alternatives(node)
    if len(parts) > 1:
        schemas = [_schema(part) for part in parts]
        return {} if {} in schemas else {"anyOf": schemas}
    name = _name(node)
    if name in _SCALARS:
        return dict(_SCALARS[name])
    if name in _LISTS:
        return {"type": "array"}
    if name in _MAPS:
        return {"type": "object"}
    if isinstance(node, ast.Subscript):
        return _generic(_name(node.value), _arguments(node))
    return {}


def _generic(name: str, arguments: list[ast.expr]) -> Schema:
    if name == "Literal":
        return {"enum": [item.value for item in arguments if isinstance(item, ast.Constant)]}
    if name in ("tuple", "Tuple") and not (len(arguments) == 2 and _is_ellipsis(arguments[1])):
        items = [_schema(argument) for argument in arguments]
        return {"type": "array", "prefixItems": items, "minItems": len(items), "maxItems": len(items)}
    if name in _LISTS:
        return {"type": "array", "items": _schema(arguments[0])}
    if name in _MAPS and len(arguments) == 2:
        return {"type": "object", "additionalProperties": _schema(arguments[1])}
    return {}


def _is_ellipsis(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis


@dataclass(frozen=True)
class Shape:
    """What an argument takes, as far as tensors care."""

    scalars: frozenset[str]  # the scalar type names it takes, alone or in lists ("str", "int", ...)
    takes_list: bool
    known: bool  # False when there is no hint, or a part of it is not understood

    @property
    def takes_text(self) -> bool:
        return not self.known or "str" in self.scalars


@functools.lru_cache(maxsize=1024)  # on the inference path: a module has few hints, read on each request
def shape_of(text: str) -> Shape:
    """The scalar types and list-ness of hint ``text``: ``str | list[str] | None`` takes str, and lists."""
    node = parse(text)
    if node is None:
        return Shape(frozenset(), True, False)
    scalars: set[str] = set()
    takes_list = False
    known = True
    for part in alternatives(node):
        name = _name(part.value) if isinstance(part, ast.Subscript) else _name(part)
        if name in _LISTS:
            takes_list = True
            items = _arguments(part) if isinstance(part, ast.Subscript) else []
            inner = [leaf for item in items if not _is_ellipsis(item) for leaf in alternatives(item)]
            names = {_name(leaf) for leaf in inner}
            known = known and bool(names) and names <= set(_SCALARS)
            scalars |= names
        elif name in _SCALARS:
            scalars.add(name)
        else:
            known = False
    return Shape(frozenset(scalars - {"None", "NoneType"}), takes_list, known)
