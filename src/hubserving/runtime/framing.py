"""The front's side of a worker socket: an asyncio protocol that splits frames.

Messages sent during one turn of the event loop leave together, in one write at the end of the turn:
under load many requests reach the same worker in one turn, and one system call (and one wake-up of
the worker) for all of them costs less than one each.
"""

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
        self.loop: asyncio.AbstractEventLoop | None = None  # kept: looking it up is a system call (getpid)
        self.outbox: list[bytes | bytearray] = []  # frames (in parts) waiting for the end of this turn

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it
        self.loop = asyncio.get_running_loop()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        for message in wire.take_frames(self.buffer):
            self.on_message(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self.on_closed()

    def send(self, message: object) -> None:
        """Queue ``message``; it is written with the others of this turn of the loop."""
        if self.transport is None or self.loop is None or self.transport.is_closing():
            return
        if not self.outbox:
            self.loop.call_soon(self.flush)
        self.outbox += wire.encode_parts(message)

    def flush(self) -> None:
        """Write what is queued, in one system call."""
        parts, self.outbox = self.outbox, []
        if parts and self.transport is not None and not self.transport.is_closing():
            self.transport.writelines(parts)

    def close(self) -> None:
        if self.transport is not None:
            self.flush()
            self.transport.close()
