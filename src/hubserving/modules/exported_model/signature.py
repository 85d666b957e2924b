"""A model's inputs and outputs, and turning a request's values into arrays that fit them.

A request gives each input as nested lists, or as
``{"b64": "<base64 of raw little-endian bytes>", "dtype": "float32", "shape": [1, 3]}``, or as
``{"data": nested lists}``; the two objects may carry Paddle's ``"lod"`` offsets for sequence inputs.
Every error is a ``RequestError`` whose message names the input (the server answers 400).
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hubserving.arrays import fits_integer_type
from hubserving.errors import RequestError

# A dimension: a size, or None / a symbolic name ("batch") when the model accepts any size.
Dim = int | str | None


@dataclass(frozen=True)
class TensorSpec:
    """One input or output as the model declares it; ``shape``/``dtype`` are None when unknown."""

    name: str
    shape: tuple[Dim, ...] | None
    dtype: str | None

    def describe(self) -> dict[str, Any]:
        """JSON for ``GET /modules``: dynamic dimensions are -1 (or their symbolic name)."""
        shape = None if self.shape is None else [-1 if dim is None else dim for dim in self.shape]
        return {"name": self.name, "shape": shape, "dtype": self.dtype}


def fixed(dim: Dim) -> int | None:
    """The size a dimension must have, or None when any size will do."""
    return dim if isinstance(dim, int) and dim >= 0 else None


def decode_b64(name: str, value: Mapping[str, Any]) -> npt.NDArray[Any]:
    """``{"b64", "dtype", "shape"}`` -> array; the byte count must match dtype and shape exactly."""
    try:
        dtype = np.dtype(value["dtype"]).newbyteorder("<")
    except (TypeError, ValueError):
        dtype = None
    if dtype is None or dtype.kind not in "biuf":
        raise RequestError(f"input {name!r}: dtype {value['dtype']!r} is not a numeric dtype like 'float32'")
    shape = value["shape"]
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise RequestError(f"input {name!r}: shape must be a list of non-negative integers, got {shape!r}")
    try:
        raw = base64.b64decode(value["b64"], validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise RequestError(f"input {name!r}: b64 is not valid base64") from None
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        raise RequestError(
            f"input {name!r}: {len(raw)} bytes do not make shape {shape} of {dtype.name} ({expected} bytes)"
        )
    return np.frombuffer(raw, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def from_object(name: str, value: Mapping[str, Any]) -> tuple[npt.NDArray[Any], list[list[int]] | None]:
    """``{"b64", "dtype", "shape"}`` or ``{"data": nested lists}``, each with an optional ``"lod"``."""
    keys = set(value) - {"lod"}
    if keys == {"b64", "dtype", "shape"}:
        array = decode_b64(name, value)
    elif keys == {"data"}:
        array = from_lists(name, value["data"])
    else:
        raise RequestError(
            f'input {name!r}: give nested lists, or {{"b64": ..., "dtype": ..., "shape": [...]}}, '
            f"not an object with the keys {sorted(value)}"
        )
    return array, (check_lod(name, value["lod"], array) if "lod" in value else None)


def check_lod(name: str, lod: Any, array: npt.NDArray[Any]) -> list[list[int]]:
    """Paddle's level-of-detail offsets: ``[[0, 3, 7]]`` = rows 0-2 and 3-6 are two sequences."""
    if array.ndim == 0:
        raise RequestError(f"input {name!r}: a sequence input (with lod) needs rows, got one number")
    levels_ok = isinstance(lod, list) and all(isinstance(level, list) for level in lod)
    if not levels_ok or not lod or not all(isinstance(o, int) for level in lod for o in level):
        raise RequestError(f"input {name!r}: lod must be a list of lists of offsets, e.g. [[0, 3, 7]]")
    last = lod[-1]
    if len(last) < 2 or last[0] != 0 or last[-1] != array.shape[0] or sorted(last) != last:
        raise RequestError(
            f"input {name!r}: lod offsets must rise from 0 to the number of rows "
            f"({array.shape[0]}), got {last}"
        )
    return [list(level) for level in lod]


def from_lists(name: str, value: Any) -> npt.NDArray[Any]:
    """Nested lists (or a scalar) -> array; ragged lists and non-numbers are refused."""
    try:
        array = np.asarray(value)
    except ValueError as error:
        raise RequestError(f"input {name!r}: nested lists must be rectangular ({error})") from None
    if array.dtype.kind not in "biuf":
        found = "strings" if array.dtype.kind == "U" else f"{array.dtype.name} values"
        raise RequestError(f"input {name!r}: expected numbers, got {found}")
    return array


def cast(name: str, array: npt.NDArray[Any], dtype: str | None) -> npt.NDArray[Any]:
    """Cast to the model's dtype when no value changes kind (int -> float is fine, float -> int is not)."""
    try:
        target = np.dtype(dtype) if dtype is not None else array.dtype
    except TypeError:  # a dtype numpy does not know (bfloat16): the runtime will judge
        return array
    if array.dtype == target:
        return array
    empty_list = array.size == 0 and array.dtype == np.float64
    if not empty_list and not np.can_cast(array.dtype, target, casting="same_kind"):
        raise RequestError(f"input {name!r} is {target.name}; {array.dtype.name} values cannot be cast to it")
    if target.kind in "iu" and not fits_integer_type(array, target):
        raise RequestError(f"input {name!r}: values out of the range of {target.name}")
    return array.astype(target)


def check_shape(spec: TensorSpec, array: npt.NDArray[Any], sizes: dict[str, int]) -> None:
    """Rank and fixed sizes as declared; a symbolic dimension must be the same size across inputs."""
    if spec.shape is None:
        return
    if array.ndim != len(spec.shape):
        raise RequestError(
            f"input {spec.name!r} must have rank {len(spec.shape)} (shape {spec.describe()['shape']}), "
            f"got shape {list(array.shape)}"
        )
    for axis, (dim, size) in enumerate(zip(spec.shape, array.shape, strict=True)):
        if fixed(dim) is not None and dim != size:
            raise RequestError(
                f"input {spec.name!r}: dimension {axis} must be {dim} (shape {spec.describe()['shape']}), "
                f"got shape {list(array.shape)}"
            )
        if isinstance(dim, str) and sizes.setdefault(dim, size) != size:
            raise RequestError(
                f"input {spec.name!r}: dimension {axis} ({dim!r}) is {size}, "
                f"but another input has {dim!r} = {sizes[dim]}"
            )


@dataclass(frozen=True)
class Feed:
    """Arrays by input name, in the model's order; LoD offsets of sequence inputs (Paddle)."""

    arrays: dict[str, npt.NDArray[Any]]
    lods: dict[str, list[list[int]]]


def check_names(inputs: Mapping[str, Any], names: list[str]) -> None:
    """Exactly the model's input names, or an error listing them."""
    unknown = [key for key in inputs if key not in names]
    if unknown:
        raise RequestError(f"unknown input {', '.join(map(repr, unknown))}; the model's inputs are {names}")
    missing = [name for name in names if name not in inputs]
    if missing:
        raise RequestError(f"missing input {', '.join(map(repr, missing))}; the model's inputs are {names}")


def to_feed(
    inputs: Mapping[str, Any], specs: Sequence[TensorSpec], lod_inputs: frozenset[str] = frozenset()
) -> Feed:
    """Validate a request's ``inputs`` against the model's inputs (``lod_inputs`` need ``"lod"``)."""
    check_names(inputs, [spec.name for spec in specs])
    feed = Feed({}, {})
    sizes: dict[str, int] = {}
    for spec in specs:
        value = inputs[spec.name]
        array, lod = (
            from_object(spec.name, value)
            if isinstance(value, Mapping)
            else (from_lists(spec.name, value), None)
        )
        if spec.name in lod_inputs and lod is None:
            raise RequestError(
                f'input {spec.name!r} is a sequence input: give it as {{"data": [...], "lod": [[0, ...]]}}'
            )
        check_shape(spec, array, sizes)
        feed.arrays[spec.name] = np.ascontiguousarray(cast(spec.name, array, spec.dtype))
        if lod is not None:
            feed.lods[spec.name] = lod
    return feed


def check_not_empty(feed: Feed) -> None:
    """Refuse arrays with a zero-size dimension: Paddle's CPU kernels may crash on them, not raise."""
    for name, array in feed.arrays.items():
        if array.size == 0:
            raise RequestError(
                f"input {name!r} has no elements (shape {list(array.shape)}); "
                "a Paddle model needs every dimension of every input to be at least 1"
            )
