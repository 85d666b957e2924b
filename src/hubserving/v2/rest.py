"""The V2 REST wire format: JSON tensors, and Triton's binary tensor data extension.

With the extension the body is a JSON header of ``Inference-Header-Content-Length`` bytes and then
the raw data of each input whose ``parameters`` give a ``binary_data_size``, in order. An answer
output is binary when its requested output says ``"binary_data": true``, or when the request's
``binary_data_output`` parameter says so and the output does not say otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from hubserving import envelope
from hubserving.v2.errors import V2Error
from hubserving.v2.messages import InferRequest, InferResponse, RequestedOutput, Scalar
from hubserving.v2.tensors import Tensor, from_json, from_raw, json_data, to_raw


def parse_request(model: str, version: str, body: bytes, header_length: int | None) -> InferRequest:
    """The request in ``body``; V2Error (400) saying what is wrong with it."""
    end = len(body) if header_length is None else header_length
    if not 0 <= end <= len(body):
        raise V2Error(f"Inference-Header-Content-Length is {end}, but the body has {len(body)} bytes")
    header = _json_object(memoryview(body)[:end])
    binary = memoryview(body)[end:]
    inputs, used = _inputs(header.get("inputs"), binary)
    if used != len(binary):
        raise V2Error(f"the body has {len(binary) - used} bytes after the JSON header that no input claims")
    parameters = _parameters("the request", header.get("parameters"))
    return InferRequest(
        model,
        inputs,
        version,
        _text("id", header.get("id", "")),
        parameters,
        _outputs(header.get("outputs", [])),
        bool(parameters.get("binary_data_output", False)),
    )


def _json_object(raw: memoryview) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise V2Error(f"the request's JSON does not parse: {error}") from None
    if not isinstance(value, dict):
        raise V2Error(
            'the request must be a JSON object: {"inputs": [{"name", "datatype", "shape", "data"}]}'
        )
    return value


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise V2Error(f"{key!r} must be a string, got {type(value).__name__}")
    return value


def _parameters(owner: str, value: Any) -> dict[str, Scalar]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise V2Error(f"the parameters of {owner} must be an object")
    for key, item in value.items():
        if not isinstance(item, bool | int | float | str):
            raise V2Error(f"parameter {key!r} of {owner} must be a string, number or boolean")
    return value


def _inputs(value: Any, binary: memoryview) -> tuple[tuple[Tensor, ...], int]:
    """The input tensors, and how many bytes of ``binary`` they took."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise V2Error('"inputs" must be a list of objects {"name", "datatype", "shape", "data"}')
    tensors = []
    offset = 0
    for item in value:
        tensor, size = _input(item, binary[offset:])
        tensors.append(tensor)
        offset += size
    return tuple(tensors), offset


def _input(item: Mapping[str, Any], binary: memoryview) -> tuple[Tensor, int]:
    name = _text("name", item.get("name"))
    datatype = _text(f"datatype of input {name!r}", item.get("datatype"))
    shape = item.get("shape")
    if not isinstance(shape, list):
        raise V2Error(f"input {name!r}: shape must be a list of non-negative integers")
    size = _parameters(f"input {name!r}", item.get("parameters")).get("binary_data_size")
    if size is None:
        if "data" not in item:
            raise V2Error(f'input {name!r} has no "data" and no binary_data_size parameter')
        return from_json(name, datatype, shape, item["data"]), 0
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= len(binary):
        raise V2Error(f"input {name!r}: binary_data_size {size!r} does not fit the {len(binary)} bytes left")
    return from_raw(name, datatype, shape, binary[:size]), size


def _outputs(value: Any) -> tuple[RequestedOutput, ...]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise V2Error('"outputs" must be a list of objects {"name", "parameters"}')
    outputs = []
    for item in value:
        name = _text("name of an output", item.get("name"))
        binary = _parameters(f"output {name!r}", item.get("parameters")).get("binary_data")
        outputs.append(RequestedOutput(name, None if binary is None else bool(binary)))
    return tuple(outputs)


def encode_response(request: InferRequest, response: InferResponse) -> tuple[bytes, int | None]:
    """The answer's body, and the length of its JSON header when binary data follows it."""
    binary = _binary_outputs(request)
    described = []
    raw_parts = []
    for tensor in response.outputs:
        entry: dict[str, Any] = {"name": tensor.name, "datatype": tensor.datatype, "shape": tensor.shape}
        if binary.get(tensor.name, request.binary_outputs):
            raw = to_raw(tensor)
            entry["parameters"] = {"binary_data_size": len(raw)}
            raw_parts.append(raw)
        else:
            entry["data"] = json_data(tensor)
        described.append(entry)
    header = envelope.dumps(_answer_head(response) | {"outputs": described})
    if not raw_parts:
        return header, None
    return b"".join([header, *raw_parts]), len(header)


def _binary_outputs(request: InferRequest) -> dict[str, bool]:
    return {output.name: output.binary for output in request.outputs if output.binary is not None}


def _answer_head(response: InferResponse) -> dict[str, Any]:
    head: dict[str, Any] = {"model_name": response.model, "model_version": response.version}
    if response.id:
        head["id"] = response.id
    return head
