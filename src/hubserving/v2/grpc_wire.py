"""The gRPC messages of the protocol <-> the requests and answers that ``infer.py`` runs.

Inputs come as ``raw_input_contents`` (one entry per input, as Triton's client sends them) or as
typed ``contents``; outputs always go back as ``raw_output_contents``, as Triton answers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hubserving.v2.errors import V2Error
from hubserving.v2.generated import open_inference_grpc_pb2 as pb
from hubserving.v2.messages import InferRequest, InferResponse, ModelMetadata, RequestedOutput
from hubserving.v2.tensors import BYTES, NUMERIC, Tensor, check_header, from_raw, to_raw

# Which ``InferTensorContents`` field holds each datatype (FP16 has none: send it raw).
CONTENTS_FIELD = {
    "BOOL": "bool_contents", "INT8": "int_contents", "INT16": "int_contents", "INT32": "int_contents",
    "INT64": "int64_contents", "UINT8": "uint_contents", "UINT16": "uint_contents",
    "UINT32": "uint_contents", "UINT64": "uint64_contents", "FP32": "fp32_contents",
    "FP64": "fp64_contents", BYTES: "bytes_contents",
}  # fmt: skip


def infer_request(message: pb.ModelInferRequest) -> InferRequest:
    """The request a ``ModelInferRequest`` stands for; V2Error (400) saying what is wrong with it."""
    raw = list(message.raw_input_contents)
    if raw and len(raw) != len(message.inputs):
        raise V2Error(
            f"raw_input_contents has {len(raw)} entries for {len(message.inputs)} inputs; "
            "give one per input, or use contents"
        )
    inputs = tuple(_input(tensor, raw[index] if raw else None) for index, tensor in enumerate(message.inputs))
    return InferRequest(
        message.model_name,
        inputs,
        message.model_version,
        message.id,
        parameters(message.parameters),
        tuple(RequestedOutput(output.name) for output in message.outputs),
    )


def parameters(entries: Any) -> dict[str, Any]:
    """``map<string, InferParameter>`` (or ``ModelRepositoryParameter``) -> plain values."""
    values: dict[str, Any] = {}
    for key, parameter in entries.items():
        choice = parameter.WhichOneof("parameter_choice")
        if choice is not None:
            values[key] = getattr(parameter, choice)
    return values


def _input(tensor: pb.ModelInferRequest.InferInputTensor, raw: bytes | None) -> Tensor:
    shape = list(tensor.shape)
    if raw is not None:
        return from_raw(tensor.name, tensor.datatype, shape, raw)
    count = check_header(tensor.name, tensor.datatype, shape)
    field = CONTENTS_FIELD.get(tensor.datatype)
    if field is None:
        raise V2Error(f"input {tensor.name!r}: {tensor.datatype} has no contents field; send it raw")
    values = list(getattr(tensor.contents, field))
    if len(values) != count:
        raise V2Error(f"input {tensor.name!r}: shape {shape} needs {count} elements, got {len(values)}")
    if tensor.datatype == BYTES:
        array = np.empty(count, dtype=object)
        array[:] = values
    else:
        array = np.asarray(values, dtype=NUMERIC[tensor.datatype])
    return Tensor(tensor.name, tensor.datatype, array.reshape(shape))


def infer_response(response: InferResponse) -> pb.ModelInferResponse:
    outputs = [
        pb.ModelInferResponse.InferOutputTensor(name=t.name, datatype=t.datatype, shape=t.shape)
        for t in response.outputs
    ]
    return pb.ModelInferResponse(
        model_name=response.model,
        model_version=response.version,
        id=response.id,
        outputs=outputs,
        raw_output_contents=[to_raw(tensor) for tensor in response.outputs],
    )


def model_metadata(metadata: ModelMetadata) -> pb.ModelMetadataResponse:
    def tensors(items: Any) -> list[pb.ModelMetadataResponse.TensorMetadata]:
        return [
            pb.ModelMetadataResponse.TensorMetadata(name=t.name, datatype=t.datatype, shape=t.shape)
            for t in items
        ]

    return pb.ModelMetadataResponse(
        name=metadata.name,
        versions=metadata.versions,
        platform=metadata.platform,
        inputs=tensors(metadata.inputs),
        outputs=tensors(metadata.outputs),
    )
