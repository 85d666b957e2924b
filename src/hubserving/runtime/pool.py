"""The front's pool of model worker processes: spawn, dispatch, time out, replace.

Each worker is ``python -m hubserving.runtime.worker`` holding every module. The pool sends it
raw request bodies and gets finished envelopes back. A worker that dies or wedges is replaced;
the requests it held are answered with an error, never left hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hubserving import envelope
from hubserving.errors import Code, HubServingError
from hubserving.runtime.framing import FrameProtocol
from hubserving.runtime.messages import (
    ModuleDescription,
    PredictCall,
    PredictReply,
    WorkerFailed,
    WorkerReady,
    WorkerRetiring,
    WorkerSetup,
)

logger = logging.getLogger("hubserving.pool")

RESTART_DELAYS_S = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0)
HEALTHY_AFTER_S = 1.0  # a worker that was ready this long before dying is replaced at once


class WorkerStartError(HubServingError):
    """A worker could not load its modules."""


class WorkerState(Enum):
    STARTING = "starting"
    READY = "ready"
    RETIRING = "retiring"  # over its memory limit: serves what it holds while its replacement starts
    DEAD = "dead"


@dataclass
class WorkerProcess:
    """One worker as the front sees it."""

    index: int
    process: subprocess.Popen[bytes]
    protocol: FrameProtocol
    state: WorkerState = WorkerState.STARTING
    in_flight: dict[int, asyncio.Future[PredictReply]] = field(default_factory=dict)
    last_reply_s: float = field(default_factory=time.monotonic)
    ready_since: float | None = None
    failure: str | None = None
    quick_deaths: int = 0  # deaths in a row of this slot's workers, each soon after starting

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass(frozen=True)
class PoolSettings:
    """What the pool needs beyond the worker setup."""

    count: int
    timeout_s: float
    environment_for: Callable[[int], dict[str, str]]
    queue_size: int  # per module: requests waiting or running; beyond it, 503 at once
    on_restart: Callable[[], None] = lambda: None


class WorkerPool:
    """Spawns ``count`` workers and routes each request to the least busy ready one."""

    def __init__(self, setup: WorkerSetup, settings: PoolSettings) -> None:
        self.setup = setup
        self.settings = settings
        self.workers: dict[int, WorkerProcess] = {}
        self.retiring: set[WorkerProcess] = set()
        self.descriptions: tuple[ModuleDescription, ...] = ()
        self.depth: dict[str, int] = {}
        self.stopping = False
        self._request_ids = itertools.count(1)
        self._ready_event = asyncio.Event()
        self._start_failure: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @property
    def ready(self) -> bool:
        """Every worker has loaded every module (false while a dead one is being replaced; true while a
        retiring one still serves for its starting replacement)."""
        covered = {w.index for w in self.retiring}
        workers = self.workers.values()
        return len(workers) == self.settings.count and all(
            w.state is WorkerState.READY or w.index in covered for w in workers
        )

    def pids(self) -> list[int]:
        alive = [w for w in (*self.workers.values(), *self.retiring) if w.state is not WorkerState.DEAD]
        return [worker.pid for worker in alive]

    async def start(self) -> None:
        for index in range(self.settings.count):
            await self._spawn(index)

    async def wait_ready(self) -> None:
        """Return when every worker is ready; raise WorkerStartError if one failed to load."""
        ready = asyncio.ensure_future(self._ready_event.wait())
        waiters: set[asyncio.Future[Any]] = {ready, self._start_failure}
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if self._start_failure in done:
            ready.cancel()
            raise WorkerStartError(self._start_failure.result())

    async def _spawn(self, index: int) -> WorkerProcess:
        parent_end, child_end = socket.socketpair()
        process = subprocess.Popen(
            [sys.executable, "-m", "hubserving.runtime.worker", str(child_end.fileno())],
            pass_fds=[child_end.fileno()],
            env=self.settings.environment_for(index),
        )
        child_end.close()
        holder: list[WorkerProcess] = []
        protocol = FrameProtocol(
            lambda message: self._on_message(holder[0], message), lambda: self._on_closed(holder[0])
        )
        worker = WorkerProcess(index, process, protocol)
        holder.append(worker)
        self.workers[index] = worker
        loop = asyncio.get_running_loop()
        await loop.create_unix_connection(lambda: protocol, sock=parent_end)
        protocol.send(dataclasses.replace(self.setup, worker_index=index))
        return worker

    def _on_message(self, worker: WorkerProcess, message: object) -> None:
        if isinstance(message, PredictReply):
            worker.last_reply_s = time.monotonic()
            future = worker.in_flight.pop(message.request_id, None)
            if future is not None and not future.done():
                future.set_result(message)
            if worker.state is WorkerState.RETIRING:
                self._close_retired()
        elif isinstance(message, WorkerReady):
            worker.state = WorkerState.READY
            worker.last_reply_s = worker.ready_since = time.monotonic()
            self.descriptions = message.modules
            logger.info("worker %d (pid %d) is ready", worker.index, worker.pid)
            if all(w.state is WorkerState.READY for w in self.workers.values()):
                self._ready_event.set()
            self._close_retired()
        elif isinstance(message, WorkerFailed):
            worker.failure = message.message
        elif isinstance(message, WorkerRetiring):
            self._retire(worker, message.rss_mb)

    def _retire(self, worker: WorkerProcess, rss_mb: int) -> None:
        """Start a replacement for a worker over its memory limit; it serves until that one is ready."""
        if self.stopping or worker.state is not WorkerState.READY:
            return
        logger.warning(
            "worker %d (pid %d) uses %d MB, over worker_memory_mb: replacing it without dropping requests",
            worker.index,
            worker.pid,
            rss_mb,
        )
        worker.state = WorkerState.RETIRING
        self.retiring.add(worker)
        self.settings.on_restart()
        asyncio.get_running_loop().create_task(self._spawn(worker.index))

    def _close_retired(self) -> None:
        """Let retiring workers go once they hold nothing and another worker is ready."""
        if not self.ready_workers():
            return
        for worker in [w for w in self.retiring if not w.in_flight]:
            self.retiring.discard(worker)
            worker.protocol.close()  # the worker exits when its socket closes
            asyncio.get_running_loop().create_task(asyncio.to_thread(_reap, worker.process))

    def _on_closed(self, worker: WorkerProcess) -> None:
        was_ready = worker.state is WorkerState.READY
        was_retiring = worker.state is WorkerState.RETIRING
        self.retiring.discard(worker)
        worker.state = WorkerState.DEAD
        code = worker.process.poll()
        for future in worker.in_flight.values():
            if not future.done():
                future.set_result(self._lost_reply(worker))
        worker.in_flight.clear()
        if self.stopping or was_retiring:
            return
        if not was_ready and not self._ready_event.is_set() and not self._start_failure.done():
            reason = (
                worker.failure or f"the worker exited (code {code}) while loading modules; see the log above"
            )
            self._start_failure.set_result(reason)
            return
        logger.error(
            "worker %d (pid %d) died (exit code %s); starting a new one", worker.index, worker.pid, code
        )
        asyncio.get_running_loop().create_task(self._replace(worker))

    def _lost_reply(self, worker: WorkerProcess) -> PredictReply:
        message = (
            f"the worker process handling this request died (pid {worker.pid}); it is being replaced, retry"
        )
        return failure_reply(Code.WORKER_LOST, message)

    async def _replace(self, dead: WorkerProcess) -> None:
        await asyncio.to_thread(_reap, dead.process)
        healthy = dead.ready_since is not None and time.monotonic() - dead.ready_since >= HEALTHY_AFTER_S
        quick_deaths = 0 if healthy else dead.quick_deaths + 1
        delay = restart_delay(quick_deaths)
        self.settings.on_restart()
        await asyncio.sleep(delay)
        if not self.stopping:
            replacement = await self._spawn(dead.index)
            replacement.quick_deaths = quick_deaths

    def ready_workers(self) -> int:
        return sum(1 for worker in self.workers.values() if worker.state is WorkerState.READY)

    def _choose(self) -> WorkerProcess | None:
        """The least busy ready worker; a retiring one only while no other is ready."""
        ready = [w for w in self.workers.values() if w.state is WorkerState.READY] or list(self.retiring)
        return min(ready, key=lambda w: len(w.in_flight)) if ready else None

    async def predict(self, module: str, body: bytes) -> PredictReply:
        """Send one request body to a worker and wait (bounded) for its envelope."""
        worker = self._choose()
        if worker is None:
            message = "the models are loading (or a worker is being replaced); retry shortly"
            return failure_reply(Code.NOT_READY, message)
        depth = self.depth.get(module, 0)
        if depth >= self.settings.queue_size:
            message = (
                f"{module} is overloaded: {depth} requests are already waiting or running; retry shortly "
                "(the server's queue_size bounds this)"
            )
            return failure_reply(Code.OVERLOADED, message)
        self.depth[module] = depth + 1
        try:
            return await self._call(worker, module, body)
        finally:
            self.depth[module] -= 1

    async def _call(self, worker: WorkerProcess, module: str, body: bytes) -> PredictReply:
        request_id = next(self._request_ids)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[PredictReply] = loop.create_future()
        worker.in_flight[request_id] = future
        worker.protocol.send(PredictCall(request_id, module, body))
        expiry = loop.call_later(self.settings.timeout_s, self._expire, worker, request_id, module)
        try:
            return await future
        finally:
            expiry.cancel()

    def _expire(self, worker: WorkerProcess, request_id: int, module: str) -> None:
        """Answer a request past the timeout with 504, and replace its worker if it is stuck."""
        future = worker.in_flight.pop(request_id, None)
        if future is None or future.done():
            return
        message = (
            f"{module} did not answer within {self.settings.timeout_s:g} s; "
            'raise the server\'s timeout (--timeout or config "timeout") or send less work'
        )
        future.set_result(failure_reply(Code.TIMEOUT, message, request_id))
        self._kill_if_wedged(worker)

    def _kill_if_wedged(self, worker: WorkerProcess) -> None:
        """A worker that answered nothing for a whole timeout is stuck: replace it."""
        if (
            worker.state is WorkerState.READY
            and time.monotonic() - worker.last_reply_s >= self.settings.timeout_s
        ):
            logger.error(
                "worker %d (pid %d) answered nothing for %.0f s; killing it",
                worker.index,
                worker.pid,
                self.settings.timeout_s,
            )
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGKILL)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Close every worker's socket (which ends it), then make sure each process is gone."""
        self.stopping = True
        workers = [*self.workers.values(), *self.retiring]
        for worker in workers:
            worker.protocol.close()
        await asyncio.gather(*(asyncio.to_thread(_reap, w.process, grace_s) for w in workers))


def failure_reply(code: Code, message: str, request_id: int = 0) -> PredictReply:
    """An answer the pool gives itself, with the code's HTTP status."""
    return PredictReply(request_id, code.http_status, envelope.failure(code, message))


def restart_delay(quick_deaths: int) -> float:
    """No wait for a worker that died after serving a while; growing waits for one that keeps dying young."""
    return RESTART_DELAYS_S[min(max(quick_deaths - 1, 0), len(RESTART_DELAYS_S) - 1)]


def _reap(process: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
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
