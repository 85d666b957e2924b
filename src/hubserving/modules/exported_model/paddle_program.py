"""The declared inputs and outputs of a Paddle Inference program, read from its file.

Paddle Inference's Python predictor tells names only, so shapes and dtypes come from the program:
the PIR JSON that Paddle 3 writes (``pd_op.data`` / ``pd_op.fetch`` ops), or the ProgramDesc protobuf
of ``*.pdmodel`` and ``__model__`` (``feed`` / ``fetch`` ops and their variables).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .signature import Dim, TensorSpec

# PIR type names ("0.t_f32") and ProgramDesc VarType names ("FP32") -> numpy dtype names.
PIR_DTYPES = {
    "t_f16": "float16", "t_f32": "float32", "t_f64": "float64", "t_bf16": "bfloat16",
    "t_i8": "int8", "t_ui8": "uint8", "t_i16": "int16", "t_i32": "int32", "t_i64": "int64", "t_bool": "bool",
}  # fmt: skip
PROTO_DTYPES = {
    "FP16": "float16", "FP32": "float32", "FP64": "float64", "BF16": "bfloat16",
    "INT8": "int8", "UINT8": "uint8", "INT16": "int16", "INT32": "int32", "INT64": "int64", "BOOL": "bool",
}  # fmt: skip
# Outputs that old ProgramDescs declare FP32 though the op always writes integers (LAC's CRF path), by
# (op type, output parameter); ops that pass their input's dtype on (save_inference_model's scale).
INTEGER_OUTPUTS = {("crf_decoding", "ViterbiPath"): "int64", ("viterbi_decode", "Path"): "int64"}
PASS_THROUGH_OPS = {"scale", "assign"}


@dataclass(frozen=True)
class ProgramSignature:
    inputs: dict[str, TensorSpec]
    outputs: dict[str, TensorSpec]
    lod_inputs: frozenset[str] = frozenset()


def dims(shape: list[int]) -> tuple[Dim, ...]:
    return tuple(None if size < 0 else int(size) for size in shape)


def _attribute(op: Mapping[str, Any], name: str) -> Any:
    for attribute in op.get("A", []):
        if attribute.get("N") == name:
            return attribute["AT"]["D"]
    return None


def _pir_tensor(name: str, op: Mapping[str, Any]) -> TensorSpec:
    dtype_name, shape = op["O"][0]["TT"]["D"][:2]
    return TensorSpec(name, dims(shape), PIR_DTYPES.get(dtype_name["#"].split(".")[-1]))


def read_pir_json(path: Path) -> ProgramSignature:
    """``data`` ops are the inputs (name, shape, dtype attributes); ``fetch`` ops the outputs."""
    program = json.loads(path.read_text(encoding="utf-8"))
    inputs: dict[str, TensorSpec] = {}
    outputs: dict[str, TensorSpec] = {}
    for op in program["program"]["regions"][0]["blocks"][0]["ops"]:
        kind = op.get("#", "").split(".")[-1]
        if kind == "data":
            name = _attribute(op, "name")
            inputs[name] = TensorSpec(name, dims(_attribute(op, "shape")), _pir_tensor(name, op).dtype)
        elif kind == "fetch":
            name = _attribute(op, "name")
            outputs[name] = _pir_tensor(name, op)
    return ProgramSignature(inputs, outputs)


def read_program_desc(path: Path) -> ProgramSignature:
    """``feed`` ops' outputs are the inputs; ``fetch`` ops' inputs are the outputs."""
    from google.protobuf.message import DecodeError
    from paddle.base.proto import framework_pb2 as generated

    framework_pb2: Any = generated  # protobuf-generated: no type stubs
    program = framework_pb2.ProgramDesc()
    try:
        program.ParseFromString(path.read_bytes())
    except DecodeError as error:
        raise ValueError(f"{path} is not a Paddle program: {error}") from None
    block = program.blocks[0]
    variables = {variable.name: variable for variable in block.vars}
    type_names = {number: name for name, number in framework_pb2.VarType.Type.items()}

    def spec(name: str) -> tuple[TensorSpec, int]:
        dense = variables[name].type.dense_tensor
        dtype = PROTO_DTYPES.get(type_names.get(dense.tensor.data_type, ""))
        return TensorSpec(name, dims(list(dense.tensor.dims)), dtype), dense.legacy_lod_level

    inputs: dict[str, TensorSpec] = {}
    outputs: dict[str, TensorSpec] = {}
    lod_inputs: set[str] = set()
    producers = {arg: (op, out.parameter) for op in block.ops for out in op.outputs for arg in out.arguments}
    for op in block.ops:
        if op.type == "feed":
            name = op.outputs[0].arguments[0]
            inputs[name], lod_level = spec(name)
            if lod_level:
                lod_inputs.add(name)
        elif op.type == "fetch":
            name = op.inputs[0].arguments[0]
            declared = spec(name)[0]
            dtype = integer_output(name, producers) or declared.dtype
            outputs[name] = TensorSpec(name, declared.shape, dtype)
    return ProgramSignature(inputs, outputs, frozenset(lod_inputs))


def integer_output(name: str, producers: Mapping[str, tuple[Any, str]]) -> str | None:
    """The integer dtype of a variable written by an op of ``INTEGER_OUTPUTS`` (through pass-through
    ops), whatever the ProgramDesc declares; None for any other variable."""
    producer = producers.get(name)
    for _ in range(len(producers)):  # a bound: a malformed program may loop
        if producer is None or producer[0].type not in PASS_THROUGH_OPS:
            break
        sources = [arg for slot in producer[0].inputs if slot.parameter == "X" for arg in slot.arguments]
        producer = producers.get(sources[0]) if sources else None
    return INTEGER_OUTPUTS.get((producer[0].type, producer[1])) if producer is not None else None


def read_signature(program: Path) -> ProgramSignature | None:
    """The program's signature, or None when its format is not one of the above."""
    try:
        if program.suffix == ".json":
            return read_pir_json(program)
        return read_program_desc(program)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, ImportError):
        return None
