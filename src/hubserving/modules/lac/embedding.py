"""LAC's network without its embedding lookup, and the embedding table as one shared memory map.

The table (58,224 x 128 floats, 30 MB) is most of the network's weights. Paddle would load a private
copy into every network of every worker; looked up with numpy from a read-only map of the file, it is
one copy in the page cache for all of them (and only the rows that are used are read). The lookup is
a row copy, so the network sees exactly the numbers it saw before.
"""

from __future__ import annotations

import contextlib
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

PROGRAM_FILE = "__model__"
LOOKUP_OP = "lookup_table"

Table = npt.NDArray[np.float32]


def _framework_pb2() -> Any:
    from paddle.base.proto import framework_pb2  # the program format's protobuf classes

    return framework_pb2


def _argument(slots: Any, name: str) -> str:
    """The one variable an op's input or output slot ``name`` holds."""
    (value,) = next(slot.arguments for slot in slots if slot.parameter == name)
    return str(value)


def _without_lookup(program: Any) -> tuple[str, str]:
    """Take the embedding lookup out of ``program``: its output becomes the input that is fed.

    Returns the names of the table's parameter and of the fed variable.
    """
    block = program.blocks[0]
    lookups = [index for index, op in enumerate(block.ops) if op.type == LOOKUP_OP]
    if len(lookups) != 1:
        raise RuntimeError(f"lac: expected one {LOOKUP_OP} op in the network, found {len(lookups)}")
    lookup = block.ops[lookups[0]]
    ids, table = _argument(lookup.inputs, "Ids"), _argument(lookup.inputs, "W")
    embedded = _argument(lookup.outputs, "Out")
    feed = next(op for op in block.ops if op.type == "feed" and _argument(op.outputs, "Out") == ids)
    feed.outputs[0].arguments[0] = embedded
    del block.ops[lookups[0]]
    kept = [var for var in block.vars if var.name not in (ids, table)]
    del block.vars[:]
    block.vars.extend(kept)
    return table, embedded


def read_table(path: Path) -> Table:
    """A parameter file (Paddle's tensor format: versions, LoD, a TensorDesc, then the data) mapped
    read-only, without copying."""
    framework_pb2 = _framework_pb2()
    with path.open("rb") as file:
        header = file.read(4 + 8)
        _version, lod_levels = struct.unpack("<IQ", header)
        for _ in range(lod_levels):
            (size,) = struct.unpack("<Q", file.read(8))
            file.seek(size, 1)
        _tensor_version, desc_size = struct.unpack("<Ii", file.read(8))
        desc = framework_pb2.VarType.TensorDesc()
        desc.ParseFromString(file.read(desc_size))
        offset = file.tell()
    if desc.data_type != framework_pb2.VarType.FP32 or len(desc.dims) != 2:
        raise RuntimeError(f"lac: {path.name} is not a 2-D float32 table")
    shape = (int(desc.dims[0]), int(desc.dims[1]))
    return np.memmap(path, dtype=np.float32, mode="r", offset=offset, shape=shape)


@contextlib.contextmanager
def embedding_free_model(model_dir: Path) -> Iterator[tuple[Path, Table]]:
    """A folder holding the network without its lookup (its other parameters linked, not copied), for
    as long as the networks load from it; and the table, mapped."""
    framework_pb2 = _framework_pb2()
    program = framework_pb2.ProgramDesc()
    program.ParseFromString((model_dir / PROGRAM_FILE).read_bytes())
    table_name, _ = _without_lookup(program)
    with tempfile.TemporaryDirectory(prefix="hub-lac-") as folder:
        target = Path(folder)
        (target / PROGRAM_FILE).write_bytes(program.SerializeToString())
        for var in program.blocks[0].vars:
            if var.persistable and (model_dir / var.name).is_file():
                (target / var.name).symlink_to(model_dir / var.name)
        yield target, read_table(model_dir / table_name)
