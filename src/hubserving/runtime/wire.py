"""Frames over a stream socket between the front and a worker.

Every frame is ``length (4 bytes) | kind (1 byte) | payload``. The two messages on the hot path,
calls and replies, have a fixed binary layout; everything else (setup, ready, failure) is pickled.
"""

from __future__ import annotations

import pickle
import struct
from typing import Any

from hubserving.runtime.messages import PredictCall, PredictReply

HEADER = struct.Struct("!IB")
CALL = struct.Struct("!QH")  # request id, length of the module name; then the name, then the body
REPLY = struct.Struct("!QHH")  # request id, HTTP status, batch size; then the envelope
KIND_PICKLE, KIND_CALL, KIND_REPLY = 0, 1, 2


def _frame(kind: int, *parts: bytes | bytearray) -> list[bytes | bytearray]:
    return [HEADER.pack(sum(map(len, parts)), kind), *parts]


def encode_parts(message: Any) -> list[bytes | bytearray]:
    """One frame for ``message``, in parts: a large body is written as it is, never copied."""
    if isinstance(message, PredictCall):
        name = message.module.encode()
        return _frame(KIND_CALL, CALL.pack(message.request_id, len(name)), name, message.body)
    if isinstance(message, PredictReply):
        header = REPLY.pack(message.request_id, message.http_status, min(message.batch_size, 65535))
        return _frame(KIND_REPLY, header, message.body)
    return _frame(KIND_PICKLE, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def encode(message: Any) -> bytes:
    """One frame for ``message``, as one string of bytes."""
    return b"".join(encode_parts(message))


def decode(kind: int, payload: bytes) -> Any:
    """The message of one frame's payload."""
    if kind == KIND_CALL:
        request_id, name_length = CALL.unpack_from(payload)
        start = CALL.size + name_length
        return PredictCall(request_id, payload[CALL.size : start].decode(), payload[start:])
    if kind == KIND_REPLY:
        request_id, status, batch_size = REPLY.unpack_from(payload)
        return PredictReply(request_id, status, payload[REPLY.size :], batch_size)
    return pickle.loads(payload)


def take_frames(buffer: bytearray) -> list[Any]:
    """The messages of the whole frames at the start of ``buffer``, removed from it; a partial frame stays."""
    messages = []
    offset = 0
    while len(buffer) - offset >= HEADER.size:
        size, kind = HEADER.unpack_from(buffer, offset)
        end = offset + HEADER.size + size
        if len(buffer) < end:
            break
        messages.append(decode(kind, bytes(buffer[offset + HEADER.size : end])))
        offset = end
    if offset:
        del buffer[:offset]
    return messages
