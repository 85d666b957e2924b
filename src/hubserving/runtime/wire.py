"""Length-prefixed pickled frames over a stream socket between the front and a worker."""

from __future__ import annotations

import pickle
import socket
import struct
from typing import Any

HEADER = struct.Struct("!I")


def encode(message: Any) -> bytes:
    """One frame: 4-byte big-endian length, then the pickled message."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(payload)) + payload


def decode(payload: bytes) -> Any:
    return pickle.loads(payload)


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def read_frame(sock: socket.socket) -> Any | None:
    """Block until one message arrives; None when the other side closed."""
    header = _read_exactly(sock, HEADER.size)
    if header is None:
        return None
    payload = _read_exactly(sock, HEADER.unpack(header)[0])
    return None if payload is None else decode(payload)
