"""Tensors of the Open Inference Protocol: datatypes, and their raw (binary) and JSON forms.

Raw data is little-endian and row-major; a ``BYTES`` element is a 4-byte little-endian length and
then its bytes (Triton's binary tensor data extension, and gRPC's ``raw_*_contents``).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hubserving.arrays import fits_integer_type
from hubserving.v2.errors import V2Error

BYTES = "BYTES"
NUMERIC: dict[str, np.dtype[Any]] = {
    name: np.dtype(dtype)
    for name, dtype in {
        "BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
        "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
        "FP16": np.float16, "FP32": np.float32, "FP64": np.float64,
    }.items()
}  # fmt: skip
DATATYPES = frozenset(NUMERIC) | {BYTES}
_BY_NUMPY = {dtype.name: name for name, dtype in NUMERIC.items()}
_LENGTH = struct.Struct("<I")
MAX_DIMENSIONS_PRODUCT = 2**40  # of the non-zero dimensions: beyond, numpy cannot even shape an empty array


def datatype_of(numpy_name: str | None) -> str:
    """``float32`` -> ``FP32``; an unknown or missing numpy dtype name -> ``BYTES``."""
    return _BY_NUMPY.get(numpy_name or "", BYTES)


@dataclass(frozen=True)
class Tensor:
    """A named tensor: numeric values in their dtype, or ``BYTES`` as an object array of bytes."""

    name: str
    datatype: str
    values: npt.NDArray[Any]

    @property
    def shape(self) -> list[int]:
        return list(self.values.shape)


def check_header(name: str, datatype: str, shape: Sequence[int]) -> int:
    """The element count of a tensor's declared shape; V2Error for an unknown datatype or a bad shape."""
    if datatype not in DATATYPES:
        known = ", ".join(sorted(DATATYPES))
        raise V2Error(f"input {name!r}: datatype {datatype!r} is not supported; use one of {known}")
    if not all(isinstance(dim, int) and not isinstance(dim, bool) and dim >= 0 for dim in shape):
        raise V2Error(f"input {name!r}: shape must be a list of non-negative integers, got {list(shape)}")
    if math.prod(dim for dim in shape if dim) > MAX_DIMENSIONS_PRODUCT:
        raise V2Error(f"input {name!r}: shape {list(shape)} is too large")
    return math.prod(shape)


def from_raw(name: str, datatype: str, shape: Sequence[int], raw: bytes | memoryview) -> Tensor:
    """A tensor from its raw bytes; V2Error when their size does not fit the shape."""
    count = check_header(name, datatype, shape)
    if datatype == BYTES:
        elements = split_bytes(name, raw)
        _check_count(name, len(elements), count, shape)
        return Tensor(name, BYTES, _object_array(elements).reshape(shape))
    dtype = NUMERIC[datatype]
    if len(raw) != count * dtype.itemsize:
        raise V2Error(
            f"input {name!r}: {len(raw)} bytes of data do not make shape {list(shape)} of {datatype} "
            f"({count * dtype.itemsize} bytes)"
        )
    values = np.frombuffer(raw, dtype=dtype.newbyteorder("<")).reshape(shape)
    return Tensor(name, datatype, values.astype(dtype, copy=False))


def to_raw(tensor: Tensor) -> bytes:
    """A tensor's raw bytes."""
    if tensor.datatype == BYTES:
        return join_bytes(tensor.values.ravel().tolist())
    little = NUMERIC[tensor.datatype].newbyteorder("<")
    return np.ascontiguousarray(tensor.values, dtype=little).tobytes()


def split_bytes(name: str, raw: bytes | memoryview) -> list[bytes]:
    """Length-prefixed elements -> the elements."""
    view = memoryview(raw)
    elements: list[bytes] = []
    offset = 0
    while offset < len(view):
        if offset + 4 > len(view):
            raise V2Error(f"input {name!r}: BYTES data ends inside an element's 4-byte length")
        (length,) = _LENGTH.unpack_from(view, offset)
        offset += 4
        if offset + length > len(view):
            raise V2Error(f"input {name!r}: a BYTES element says {length} bytes, but the data ends first")
        elements.append(bytes(view[offset : offset + length]))
        offset += length
    return elements


def join_bytes(elements: Sequence[bytes]) -> bytes:
    """The elements, each after its 4-byte little-endian length."""
    return b"".join(_LENGTH.pack(len(element)) + element for element in elements)


def _check_count(name: str, found: int, count: int, shape: Sequence[int]) -> None:
    if found != count:
        raise V2Error(f"input {name!r}: shape {list(shape)} needs {count} elements, got {found}")


def _object_array(elements: Sequence[Any]) -> npt.NDArray[Any]:
    array = np.empty(len(elements), dtype=object)
    array[:] = elements
    return array


def from_json(name: str, datatype: str, shape: Sequence[int], data: Any) -> Tensor:
    """A tensor from the JSON ``data`` of a request input (nested or flat lists, row-major)."""
    count = check_header(name, datatype, shape)
    if datatype == BYTES:
        elements = [_text_bytes(name, item) for item in _flatten(name, data)]
        _check_count(name, len(elements), count, shape)
        return Tensor(name, BYTES, _object_array(elements).reshape(shape))
    try:
        given = np.asarray(data)
    except ValueError:
        message = f"input {name!r}: data must be a list of numbers (nested lists must be rectangular)"
        raise V2Error(message) from None
    _check_count(name, given.size, count, shape)
    return Tensor(name, datatype, _cast(name, given, datatype).reshape(shape))


def _flatten(name: str, data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise V2Error(f"input {name!r}: data must be a list, got {type(data).__name__}")
    flat: list[Any] = []
    for item in data:
        flat.extend(_flatten(name, item) if isinstance(item, list) else [item])
    return flat


def _text_bytes(name: str, item: Any) -> bytes:
    if not isinstance(item, str):
        raise V2Error(f"input {name!r}: BYTES data in JSON must be strings, got {type(item).__name__}")
    return item.encode("utf-8")


_KINDS = {"b": "BOOL", "i": "INT", "u": "UINT", "f": "FP"}


def _cast(name: str, given: npt.NDArray[Any], datatype: str) -> npt.NDArray[Any]:
    """JSON numbers -> the datatype: booleans only for BOOL, integers for INT*, numbers for FP*."""
    target = NUMERIC[datatype]
    allowed = {"b": "b", "i": "iu", "u": "iu", "f": "iuf"}[target.kind]
    if given.size and given.dtype.kind not in allowed:
        wanted = {"b": "true/false", "i": "integers", "u": "integers", "f": "numbers"}[target.kind]
        raise V2Error(f"input {name!r} is {datatype}: its data must be {wanted}")
    if target.kind in "iu" and not fits_integer_type(given, target):
        raise V2Error(f"input {name!r}: values out of the range of {datatype}")
    return given.astype(target)


def json_data(tensor: Tensor) -> Any:
    """A tensor's data for a JSON response: flat and row-major (BYTES as UTF-8 strings)."""
    if tensor.datatype != BYTES:
        return np.ascontiguousarray(tensor.values.ravel())
    try:
        return [element.decode("utf-8") for element in tensor.values.ravel().tolist()]
    except UnicodeDecodeError:
        raise V2Error(
            f"output {tensor.name!r} holds bytes that are not UTF-8 text: "
            'ask for it with "parameters": {"binary_data": true}'
        ) from None
