"""One module's pool of worker processes: spawn, dispatch, retry, time out, replace, reload.

Each worker is ``python -m hubserving.runtime.worker`` holding this pool's module only. The pool
sends it raw request bodies and gets finished envelopes back. A worker that dies is replaced, and
the requests it had not answered are sent once more to another worker (or wait, within the timeout,
for the replacement); a request that has killed two workers is answered 119 and logged as the likely
cause. A reload starts a new set of workers, switches to them once all are ready, and lets the old
ones finish what they hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from hubserving import envelope
from hubserving.errors import Code, HubServingError
from hubserving.logs import LogSettings
from hubserving.runtime.messages import (
    ModuleDescription,
    PredictCall,
    PredictReply,
    WorkerFailed,
    WorkerReady,
    WorkerRetiring,
    WorkerSetup,
)
from hubserving.runtime.workerproc import Call, WorkerProcess, WorkerState, reap, spawn_worker

logger = logging.getLogger("hubserving.pool")

RESTART_DELAYS_S = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0)
HEALTHY_AFTER_S = 1.0  # a worker that was ready this long before dying is replaced at once
MAX_ATTEMPTS = 2  # a request is sent to at most this many workers


class WorkerStartError(HubServingError):
    """A worker could not load its module."""


@dataclass(frozen=True)
class PoolSettings:
    """What the pool needs beyond the worker setup."""

    count: int
    timeout_s: float
    environment_for: Callable[[int], dict[str, str]]
    queue_size: int  # requests waiting or running; beyond it, 503 at once
    first_index: int = 0  # worker numbers (in log file names) are first_index .. first_index + count - 1
    log_for: Callable[[int], LogSettings | None] = lambda index: None  # worker number -> its log file
    device_of: Callable[[int], str] = lambda index: "cpu"  # worker number -> "cpu" or "gpu:<card>"
    on_restart: Callable[[], None] = lambda: None
    on_retry: Callable[[], None] = lambda: None


_request_ids = itertools.count(1)  # unique across pools: a retried call keeps its id


class WorkerPool:
    """Spawns ``count`` workers for one module and routes each request to the least busy ready one."""

    def __init__(self, setup: WorkerSetup, settings: PoolSettings) -> None:
        self.setup = setup
        self.settings = settings
        self.name = setup.modules[0].name
        self.workers: dict[int, WorkerProcess] = {}  # by slot
        self.leaving: set[WorkerProcess] = set()  # retiring or draining: closed once they hold nothing
        self.parked: deque[Call] = deque()  # requests waiting for a ready worker
        self.description: ModuleDescription | None = None
        self.depth = 0  # requests waiting or running
        self.ever_ready = False
        self.started = False  # every first worker loaded: from then on a worker that dies is replaced
        self.stopping = False
        self._turn = 0  # which of equally busy workers goes next

    # --- what the front reads

    @property
    def ready(self) -> bool:
        """Every slot has a ready worker (or a retiring one still serving while its replacement loads)."""
        covered = {w.index for w in self.leaving if w.state is WorkerState.RETIRING}
        workers = self.workers.values()
        return len(workers) == self.settings.count and all(
            w.state is WorkerState.READY or w.index in covered for w in workers
        )

    def ready_workers(self) -> int:
        return sum(1 for worker in self.workers.values() if worker.state is WorkerState.READY)

    def all_workers(self) -> list[WorkerProcess]:
        return [w for w in (*self.workers.values(), *self.leaving) if w.state is not WorkerState.DEAD]

    def pids(self) -> list[int]:
        return [worker.pid for worker in self.all_workers()]

    # --- starting, replacing, reloading

    def _slots(self) -> range:
        return range(self.settings.first_index, self.settings.first_index + self.settings.count)

    async def _spawn(self, index: int, setup: WorkerSetup) -> WorkerProcess:
        environment = self.settings.environment_for(index)
        setup = dataclasses.replace(setup, worker_index=index, log=self.settings.log_for(index))
        worker = await spawn_worker(setup, environment, self._on_message, self._on_closed)
        worker.device = self.settings.device_of(index)
        return worker

    async def start(self) -> None:
        for index in self._slots():
            self.workers[index] = await self._spawn(index, self.setup)

    async def wait_ready(self) -> None:
        """Return when every worker is ready; raise WorkerStartError when one failed to load."""
        await _all_ready(list(self.workers.values()))
        self.started = True

    async def reload(self, setup: WorkerSetup) -> None:
        """Start new workers with ``setup``; once all are ready, switch to them and drain the old ones.

        Raises WorkerStartError (the old workers go on serving) when a new one cannot load.
        """
        fresh = [await self._spawn(index, setup) for index in self._slots()]
        try:
            await _all_ready(fresh)
        except WorkerStartError:
            for worker in fresh:
                worker.protocol.close()
            await asyncio.gather(*(asyncio.to_thread(reap, w.process) for w in fresh))
            raise
        old = list(self.workers.values())
        self.setup = setup
        self.workers = {worker.index: worker for worker in fresh}
        for worker in old:
            fresh_one = self.workers[worker.index]
            fresh_one.restarts = worker.restarts + 1
            if worker.state is not WorkerState.DEAD:
                worker.state = WorkerState.DRAINING
                self.leaving.add(worker)
        logger.info(
            "%s: reloaded; %d new workers serve, the old ones finish what they hold", self.name, len(fresh)
        )
        self._close_leaving()

    async def _replace(self, dead: WorkerProcess) -> None:
        await asyncio.to_thread(reap, dead.process)
        healthy = dead.ready_since is not None and time.monotonic() - dead.ready_since >= HEALTHY_AFTER_S
        quick_deaths = 0 if healthy else dead.quick_deaths + 1
        self.settings.on_restart()
        await asyncio.sleep(restart_delay(quick_deaths))
        if not self.stopping and self.workers.get(dead.index) is dead:
            replacement = await self._spawn(dead.index, self.setup)
            replacement.quick_deaths, replacement.restarts = quick_deaths, dead.restarts + 1
            self.workers[dead.index] = replacement

    def _retire(self, worker: WorkerProcess, rss_mb: int) -> None:
        """Replace a worker over its memory limit; it serves until its replacement is ready."""
        if (
            self.stopping
            or worker.state is not WorkerState.READY
            or self.workers.get(worker.index) is not worker
        ):
            return
        logger.warning(
            "%s: worker %d (pid %d) uses %d MB, over worker_memory_mb: "
            "replacing it without dropping requests",
            self.name,
            worker.index,
            worker.pid,
            rss_mb,
        )
        worker.state = WorkerState.RETIRING
        self.leaving.add(worker)
        self.settings.on_restart()
        asyncio.get_running_loop().create_task(self._respawn_slot(worker))

    async def _respawn_slot(self, old: WorkerProcess) -> None:
        replacement = await self._spawn(old.index, self.setup)
        replacement.restarts = old.restarts + 1
        self.workers[old.index] = replacement

    def _close_leaving(self) -> None:
        """Close leaving workers that hold nothing, once a ready worker can take their place."""
        if not self.ready_workers():
            return
        for worker in [w for w in self.leaving if not w.in_flight]:
            self.leaving.discard(worker)
            worker.protocol.close()  # a worker exits when its socket closes
            asyncio.get_running_loop().create_task(asyncio.to_thread(reap, worker.process))

    # --- messages from workers

    def _on_message(self, worker: WorkerProcess, message: object) -> None:
        if isinstance(message, PredictReply):
            worker.last_reply_s = time.monotonic()
            call = worker.in_flight.pop(message.request_id, None)
            if call is not None and not call.future.done():
                call.future.set_result(message)
            if worker in self.leaving:
                self._close_leaving()
        elif isinstance(message, WorkerReady):
            self._on_ready(worker, message)
        elif isinstance(message, WorkerFailed):
            worker.failure = message.message
        elif isinstance(message, WorkerRetiring):
            self._retire(worker, message.rss_mb)

    def _on_ready(self, worker: WorkerProcess, message: WorkerReady) -> None:
        worker.state = WorkerState.READY
        worker.last_reply_s = worker.ready_since = time.monotonic()
        if not worker.ready.done():
            worker.ready.set_result(None)
        logger.info("%s: worker %d (pid %d) is ready", self.name, worker.index, worker.pid)
        if self.workers.get(worker.index) is worker:
            self.description = message.modules[0]
            self.ever_ready = True
            self._dispatch_parked()
            self._close_leaving()

    def _on_closed(self, worker: WorkerProcess) -> None:
        state = worker.state
        worker.state = WorkerState.DEAD
        self.leaving.discard(worker)
        code = worker.process.poll()
        if not worker.ready.done():
            reason = worker.failure or f"the worker {ended(code)} while loading {self.name}; see its log"
            worker.ready.set_result(reason)
        calls = list(worker.in_flight.values())
        worker.in_flight.clear()
        for call in calls:
            self._retry_or_fail(call, worker)
        if self.stopping or self.workers.get(worker.index) is not worker:
            return  # stopping, or a leaving or failed-reload worker
        if not self.started and state is not WorkerState.READY:
            return  # a start that failed: wait_ready reports it, and nothing is started again
        how = "died" if state is WorkerState.READY else "could not load the module"
        logger.error(
            "%s: worker %d (pid %d) %s (%s); starting a new one",
            self.name,
            worker.index,
            worker.pid,
            how,
            (worker.failure or "").split("\n", 1)[0] or ended(code),
        )
        asyncio.get_running_loop().create_task(self._replace(worker))

    def _retry_or_fail(self, call: Call, dead: WorkerProcess) -> None:
        """Send an unanswered request of a dead worker to another one, once; else answer 119."""
        if call.future.done():
            return
        if self.setup_allows_retry() and call.attempts < MAX_ATTEMPTS and not self.stopping:
            logger.warning(
                "%s: request %d was on worker pid %d when it died; sending it again",
                self.name,
                call.request_id,
                dead.pid,
            )
            self.settings.on_retry()
            self._dispatch(call)
            return
        if call.attempts >= MAX_ATTEMPTS:
            logger.error(
                "%s: request %d was on %d workers that died (the last pid %d); "
                "it is the likely cause: answering 119",
                self.name,
                call.request_id,
                call.attempts,
                dead.pid,
            )
            message = (
                f"{self.name}: this request was on {call.attempts} worker processes that died; "
                "it is likely the cause, so it is not sent again"
            )
        else:
            message = (
                f"the worker process handling this request died (pid {dead.pid}); it is being replaced, retry"
            )
        call.future.set_result(failure_reply(Code.WORKER_LOST, message, call.request_id))

    def setup_allows_retry(self) -> bool:
        return self.description is None or self.description.retry

    # --- requests

    def _choose(self) -> WorkerProcess | None:
        """The least busy ready worker, equals taking turns; a retiring one only while no other is ready."""
        ready = [w for w in self.workers.values() if w.state is WorkerState.READY]
        ready = ready or [w for w in self.leaving if w.state is WorkerState.RETIRING]
        if not ready:
            return None
        self._turn = (self._turn + 1) % len(ready)
        return min(ready[self._turn :] + ready[: self._turn], key=lambda w: len(w.in_flight))

    def _dispatch(self, call: Call) -> None:
        worker = self._choose()
        if worker is None:
            call.worker = None
            self.parked.append(call)
            return
        call.attempts += 1
        call.worker = worker
        worker.in_flight[call.request_id] = call
        worker.protocol.send(PredictCall(call.request_id, self.name, call.body))

    def _dispatch_parked(self) -> None:
        while self.parked and self._choose() is not None:
            call = self.parked.popleft()
            if not call.future.done():
                self._dispatch(call)

    async def predict(self, body: bytes | bytearray) -> PredictReply:
        """Send one request body to a worker and wait (bounded) for its envelope."""
        if self.depth >= self.settings.queue_size:
            message = (
                f"{self.name} is overloaded: {self.depth} requests are already waiting or running; retry "
                "shortly (the server's queue_size bounds this)"
            )
            return failure_reply(Code.OVERLOADED, message)
        if not self.ever_ready or self.stopping:
            return failure_reply(Code.NOT_READY, f"{self.name} is loading (or unloading); retry shortly")
        loop = asyncio.get_running_loop()
        call = Call(next(_request_ids), body, loop.create_future())
        self.depth += 1
        expiry = loop.call_later(self.settings.timeout_s, self._expire, call)
        try:
            self._dispatch(call)
            reply = await call.future
            return dataclasses.replace(reply, attempts=call.attempts) if call.attempts > 1 else reply
        finally:
            expiry.cancel()
            self.depth -= 1

    def _expire(self, call: Call) -> None:
        """Answer a request past the timeout with 504, and replace its worker if it is stuck."""
        if call.future.done():
            return
        worker = call.worker
        if worker is not None:
            worker.in_flight.pop(call.request_id, None)
        else:
            with contextlib.suppress(ValueError):
                self.parked.remove(call)
        message = (
            f"{self.name} did not answer within {self.settings.timeout_s:g} s; "
            'raise the server\'s timeout (--timeout or config "timeout") or send less work'
        )
        call.future.set_result(failure_reply(Code.TIMEOUT, message, call.request_id))
        if worker is not None:
            self._kill_if_wedged(worker)

    def _kill_if_wedged(self, worker: WorkerProcess) -> None:
        """A worker that answered nothing for a whole timeout is stuck: replace it."""
        if (
            worker.state is WorkerState.READY
            and time.monotonic() - worker.last_reply_s >= self.settings.timeout_s
        ):
            logger.error(
                "%s: worker %d (pid %d) answered nothing for %.0f s; killing it",
                self.name,
                worker.index,
                worker.pid,
                self.settings.timeout_s,
            )
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGKILL)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Close every worker's socket (which ends it), answer what waits, make sure each process is gone."""
        self.stopping = True
        while self.parked:
            call = self.parked.popleft()
            if not call.future.done():
                call.future.set_result(
                    failure_reply(Code.NOT_READY, f"{self.name} was unloaded or the server stops")
                )
        workers = [*self.workers.values(), *self.leaving]
        for worker in workers:
            worker.protocol.close()
        await asyncio.gather(*(asyncio.to_thread(reap, w.process, grace_s) for w in workers))

    async def drain_and_stop(self, grace_s: float) -> None:
        """Stop taking requests, wait (up to ``grace_s``) for those running, then stop."""
        self.stopping = True
        deadline = time.monotonic() + grace_s
        while self.depth and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await self.stop()


async def _all_ready(workers: list[WorkerProcess]) -> None:
    """Wait until each worker loaded; raise WorkerStartError with the first failure's reason."""
    for finished in asyncio.as_completed([worker.ready for worker in workers]):
        reason = await finished
        if reason is not None:
            raise WorkerStartError(reason)


def failure_reply(code: Code, message: str, request_id: int = 0) -> PredictReply:
    """An answer the pool gives itself, with the code's HTTP status."""
    return PredictReply(request_id, code.http_status, envelope.failure(code, message))


def ended(code: int | None) -> str:
    """How a worker process ended, as far as is known when its socket closes."""
    if code is None:
        return "exited"  # the socket closes just before the process ends
    return f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"


def restart_delay(quick_deaths: int) -> float:
    """No wait for a worker that died after serving a while; growing waits for one that keeps dying young."""
    return RESTART_DELAYS_S[min(max(quick_deaths - 1, 0), len(RESTART_DELAYS_S) - 1)]
