"""The one rule between V2 tensors and a serving method's arguments and results.

- A model that declares tensors (an exported model's ``serving_details()`` lists ``inputs`` and
  ``outputs`` with name, dtype and shape) gets its real inputs and answers with its real outputs.
- Any other module: each input tensor is the argument of the same name. A ``BYTES`` element is the
  text itself for an argument that takes strings, an image file (or base64 text) for the module's
  image argument, and a JSON document for anything else. A one-element tensor of an argument that
  takes no list is that one value; the module's input argument takes a ``[n]`` or ``[n, 1]``
  tensor as a list of n items. Request parameters are further keyword arguments. The answer is one
  ``BYTES`` output ``results``: one JSON document per item of the results (one per text for lac).

The outcome is the JSON body ``POST /predict/<module>`` would send, so both batch together.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from hubserving import envelope
from hubserving.module.signature import Parameter
from hubserving.runtime.messages import ModuleDescription
from hubserving.v2 import typetext
from hubserving.v2.errors import V2Error
from hubserving.v2.messages import InferRequest, ModelMetadata, TensorMetadata
from hubserving.v2.tensors import BYTES, NUMERIC, Tensor, datatype_of, to_raw

RESULTS = "results"
# Request parameters that steer the protocol (Triton's client sends them), not the serving method.
RESERVED_PARAMETERS = frozenset(
    {"binary_data_output", "priority", "timeout", "sequence_id", "sequence_start", "sequence_end"}
)
_BASE64_TEXT = re.compile(rb"(data:[\w/+.-]+;base64,)?[A-Za-z0-9+/=\s]*")


def declares_tensors(description: ModuleDescription) -> bool:
    """Whether the module lists its input and output tensors (exported models do)."""
    details = description.details
    return isinstance(details.get("inputs"), list) and isinstance(details.get("outputs"), list)


def input_argument(description: ModuleDescription) -> str | None:
    """The argument that holds the module's input (lac's ``texts``, a CV module's ``images``)."""
    return description.input_arg or description.batch_arg


def _is_input(description: ModuleDescription, name: str) -> bool:
    """Whether request key ``name`` (an alias too) is the module's input argument."""
    return description.aliases.get(name, name) == input_argument(description)


# --- metadata


def metadata(description: ModuleDescription) -> ModelMetadata:
    """The model's inputs and outputs as V2 metadata shows them."""
    if declares_tensors(description):
        inputs = tuple(_declared(spec) for spec in description.details["inputs"])
        outputs = tuple(_declared(spec) for spec in description.details["outputs"])
    else:
        inputs = tuple(_parameter_metadata(description, p) for p in description.parameters)
        outputs = (TensorMetadata(RESULTS, BYTES, (-1,)),)
    return ModelMetadata(
        description.name, (description.info.version,), platform(description), inputs, outputs
    )


def platform(description: ModuleDescription) -> str:
    """``onnx_onnxv1`` / ``paddle_inference`` for exported models, else ``hubserving_<module>``."""
    model_format = description.details.get("format") if declares_tensors(description) else None
    if model_format == "onnx":
        return "onnx_onnxv1"
    if model_format == "paddle":
        return "paddle_inference"
    return f"hubserving_{description.info.name}"


def _declared(spec: Mapping[str, Any]) -> TensorMetadata:
    shape = spec.get("shape")
    if shape is None:
        return TensorMetadata(str(spec["name"]), datatype_of(spec.get("dtype")), (-1,))
    dims = tuple(dim if isinstance(dim, int) and dim >= 0 else -1 for dim in shape)
    return TensorMetadata(str(spec["name"]), datatype_of(spec.get("dtype")), dims)


def _parameter_metadata(description: ModuleDescription, parameter: Parameter) -> TensorMetadata:
    shape = (-1,) if _takes_list(parameter) else (1,)
    if _bytes_meaning(description, parameter.name, parameter) == "image":
        return TensorMetadata(parameter.name, BYTES, shape)
    return TensorMetadata(parameter.name, _datatype(parameter), shape)


def _datatype(parameter: Parameter) -> str:
    """From the hint's scalar types (no hint: the default's type); BYTES for text and JSON values."""
    hint = typetext.shape_of(parameter.type)
    if not parameter.type:
        scalars = {type(parameter.default).__name__}
    else:
        scalars = set(hint.scalars) if hint.known else set()
    if scalars == {"bool"}:
        return "BOOL"
    if scalars == {"int"}:
        return "INT64"
    if scalars and scalars <= {"int", "float"}:
        return "FP64"
    return BYTES


def _takes_list(parameter: Parameter | None) -> bool:
    """Whether the argument takes a list (no hint: unless its default is a scalar)."""
    if parameter is None:
        return True
    if parameter.type:
        return typetext.shape_of(parameter.type).takes_list
    return not isinstance(parameter.default, bool | int | float | str)


def _bytes_meaning(description: ModuleDescription, name: str, parameter: Parameter | None) -> str:
    """What a BYTES element of argument ``name`` is: ``image``, ``text`` or ``json``."""
    if description.input_kind == "image" and _is_input(description, name):
        return "image"
    if parameter is None or not parameter.type or "str" in typetext.shape_of(parameter.type).scalars:
        return "text"
    return "json"


# --- request -> body


def output_names(description: ModuleDescription) -> list[str]:
    if declares_tensors(description):
        return [str(spec["name"]) for spec in description.details["outputs"]]
    return [RESULTS]


def check_outputs(description: ModuleDescription, request: InferRequest) -> None:
    """Refuse, before any work, outputs the model does not have."""
    available = output_names(description)
    unknown = [output.name for output in request.outputs if output.name not in available]
    if unknown:
        raise V2Error(f"unknown output {', '.join(map(repr, unknown))}; the model's outputs are {available}")


def request_body(description: ModuleDescription, request: InferRequest) -> bytes:
    """The JSON body for the predictor: what ``POST /predict/<module>`` would send."""
    if declares_tensors(description):
        arguments: dict[str, Any] = {"inputs": {t.name: _b64_input(description, t) for t in request.inputs}}
    else:
        arguments = _module_arguments(description, request.inputs)
    for key, value in request.parameters.items():
        if key in RESERVED_PARAMETERS:
            continue
        if key in arguments:
            raise V2Error(f"{key!r} is given as an input and as a parameter; give it once")
        arguments[key] = value
    return envelope.dumps(arguments)


def _module_arguments(description: ModuleDescription, inputs: Sequence[Tensor]) -> dict[str, Any]:
    parameters = {parameter.name: parameter for parameter in description.parameters}
    return {t.name: _argument(description, t, _parameter(description, parameters, t.name)) for t in inputs}


def _parameter(
    description: ModuleDescription, parameters: Mapping[str, Parameter], name: str
) -> Parameter | None:
    return parameters.get(name) or parameters.get(description.aliases.get(name, ""))


def _b64_input(description: ModuleDescription, tensor: Tensor) -> dict[str, Any]:
    """A numeric tensor as exported models take it: ``{"b64", "dtype", "shape"}``."""
    if tensor.datatype == BYTES:
        declared = {spec["name"]: spec.get("dtype") for spec in description.details["inputs"]}
        wanted = datatype_of(declared.get(tensor.name)) if tensor.name in declared else "a number type"
        raise V2Error(f"input {tensor.name!r} is BYTES; the model takes {wanted} there")
    raw = base64.b64encode(to_raw(tensor)).decode("ascii")
    return {"b64": raw, "dtype": tensor.values.dtype.name, "shape": tensor.shape}


def _argument(description: ModuleDescription, tensor: Tensor, parameter: Parameter | None) -> Any:
    values = tensor.values
    if tensor.datatype == BYTES:
        values = _decode_elements(tensor, _bytes_meaning(description, tensor.name, parameter))
    if values.ndim == 0:
        return values.tolist()
    if values.size == 1 and not _takes_list(parameter):
        return values.reshape(-1).tolist()[0]
    if _is_input(description, tensor.name) and all(dim == 1 for dim in values.shape[1:]):
        return values.reshape(-1).tolist()
    return values.tolist()


def _decode_elements(tensor: Tensor, meaning: str) -> npt.NDArray[Any]:
    decode = {"image": _image, "text": _text, "json": _json}[meaning]
    flat = [decode(tensor.name, element) for element in tensor.values.ravel().tolist()]
    decoded = np.empty(len(flat), dtype=object)
    decoded[:] = flat
    return decoded.reshape(tensor.values.shape)


def _text(name: str, element: bytes) -> str:
    try:
        return element.decode("utf-8")
    except UnicodeDecodeError:
        raise V2Error(f"input {name!r}: an element is not UTF-8 text") from None


def _image(name: str, element: bytes) -> str:
    """An image file -> base64 (the JSON form of images); base64 text or a data URL stays as it is."""
    if _BASE64_TEXT.fullmatch(element):
        return element.decode("ascii")
    return base64.b64encode(element).decode("ascii")


def _json(name: str, element: bytes) -> Any:
    try:
        return orjson.loads(element)
    except orjson.JSONDecodeError as error:
        raise V2Error(f"input {name!r}: an element is not a JSON document ({error})") from None


# --- results -> outputs


def outputs(description: ModuleDescription, request: InferRequest, results: Any) -> list[Tensor]:
    """The output tensors asked for (all when none were named), from the serving method's results."""
    names = [output.name for output in request.outputs] or output_names(description)
    if not declares_tensors(description):
        return [results_tensor(results)]
    if not isinstance(results, Mapping):
        raise V2Error(f"the model answered {type(results).__name__}, not outputs by name", 500)
    declared = {spec["name"]: spec.get("dtype") for spec in description.details["outputs"]}
    return [_output(name, results, declared.get(name)) for name in names]


def results_tensor(results: Any) -> Tensor:
    """``results``: one JSON document per item of a list, else one document."""
    items: Sequence[Any] = results if isinstance(results, list) else [results]
    documents = np.empty(len(items), dtype=object)
    documents[:] = [envelope.dumps(item) for item in items]
    return Tensor(RESULTS, BYTES, documents)


def _output(name: str, results: Mapping[str, Any], dtype: str | None) -> Tensor:
    if name not in results:
        raise V2Error(f"the model answered without its output {name!r}", 500)
    datatype = datatype_of(dtype)
    numeric = NUMERIC.get(datatype)
    array = np.asarray(results[name], dtype=numeric)
    if numeric is None:
        datatype = datatype_of(array.dtype.name)
        if datatype == BYTES:
            raise V2Error(f"output {name!r} is not numeric; the model answered {array.dtype.name}", 500)
    return Tensor(name, datatype, array)
