"""One model worker process as the front sees it: spawn it, talk to it, reap it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hubserving.runtime.framing import FrameProtocol
from hubserving.runtime.messages import PredictReply, WorkerSetup


class WorkerState(Enum):
    STARTING = "starting"
    READY = "ready"
    RETIRING = "retiring"  # over its memory limit: still serves while its replacement starts
    DRAINING = "draining"  # replaced by a reload: takes nothing new, answers what it holds
    DEAD = "dead"


@dataclass(eq=False)
class Call:
    """A request on its way through the pool: where it is, and how often it was sent."""

    request_id: int
    body: bytes | bytearray
    future: asyncio.Future[PredictReply]
    attempts: int = 0
    worker: WorkerProcess | None = None
    alone: bool = False  # sent by itself, its worker taking nothing else: it was on a worker that died
    waiting_on: WorkerProcess | None = None  # the worker kept free for it, until that one drains


@dataclass(eq=False)
class WorkerProcess:
    """One worker: its process, its socket, the calls it holds."""

    index: int
    process: subprocess.Popen[bytes]
    protocol: FrameProtocol
    ready: asyncio.Future[str | None]  # None once it loaded its module; the reason when it could not
    state: WorkerState = WorkerState.STARTING
    in_flight: dict[int, Call] = field(default_factory=dict)
    abandoned: set[int] = field(default_factory=set)  # answered past the timeout, still queued in it
    last_reply_s: float = field(default_factory=time.monotonic)
    ready_since: float | None = None
    failure: str | None = None
    quick_deaths: int = 0  # deaths in a row of this slot's workers, each soon after starting
    restarts: int = 0  # how many workers this slot had before this one
    device: str = "cpu"  # "gpu:<card>" for a worker that sees one card
    isolating: bool = False  # holds (or drains for) a request that was on a worker that died: takes no other
    reserved: Call | None = None  # that request, while this worker drains
    killed: bool = False  # the pool killed it (wedged): said once

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def busy(self) -> bool:
        """Holds requests, or still works through ones already answered past the timeout."""
        return bool(self.in_flight or self.abandoned)

    @property
    def takes_requests(self) -> bool:
        """Not kept for a dead worker's request, and not being killed."""
        return not self.isolating and not self.killed

    def describe(self) -> dict[str, Any]:
        """For ``GET /modules`` and ``hub serving status``."""
        return {
            "pid": self.pid,
            "state": self.state.value,
            "restarts": self.restarts,
            "in_flight": len(self.in_flight),
            "device": self.device,
        }


async def spawn_worker(
    setup: WorkerSetup,
    environment: dict[str, str],
    on_message: Callable[[WorkerProcess, object], None],
    on_closed: Callable[[WorkerProcess], None],
) -> WorkerProcess:
    """Start ``python -m hubserving.runtime.worker`` and send it its setup."""
    parent_end, child_end = socket.socketpair()
    process = subprocess.Popen(
        [sys.executable, "-m", "hubserving.runtime.worker", str(child_end.fileno())],
        pass_fds=[child_end.fileno()],
        env=environment,
    )
    child_end.close()
    holder: list[WorkerProcess] = []
    protocol = FrameProtocol(lambda message: on_message(holder[0], message), lambda: on_closed(holder[0]))
    loop = asyncio.get_running_loop()
    worker = WorkerProcess(setup.worker_index, process, protocol, loop.create_future())
    holder.append(worker)
    await loop.create_unix_connection(lambda: protocol, sock=parent_end)
    protocol.send(setup)
    return worker


def reap(process: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """Wait for a process to end; terminate, then kill, one that does not."""
    for action in (None, process.terminate, process.kill):
        if action is not None:
            with contextlib.suppress(ProcessLookupError):
                action()
        try:
            process.wait(timeout=grace_s)
            return
        except subprocess.TimeoutExpired:
            continue
