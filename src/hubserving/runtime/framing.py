"""The front's side of a worker socket: an asyncio protocol that splits frames."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

from hubserving.runtime import wire


class FrameProtocol(asyncio.Protocol):
    """Calls ``on_message`` for each whole frame and ``on_closed`` once when the socket ends."""

    def __init__(self, on_message: Callable[[Any], None], on_closed: Callable[[], None]) -> None:
        self.on_message = on_message
        self.on_closed = on_closed
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        header_size = wire.HEADER.size
        offset = 0
        while len(self.buffer) - offset >= header_size:
            size, kind = wire.HEADER.unpack_from(self.buffer, offset)
            end = offset + header_size + size
            if len(self.buffer) < end:
                break
            self.on_message(wire.decode(kind, bytes(self.buffer[offset + header_size : end])))
            offset = end
        if offset:
            del self.buffer[:offset]

    def connection_lost(self, exc: Exception | None) -> None:
        self.on_closed()

    def send(self, message: object) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.writelines(wire.encode_parts(message))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
