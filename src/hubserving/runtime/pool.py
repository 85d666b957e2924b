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
LOAD_ATTEMPTS = 3  # a new worker killed while it loads (not failing on its own) is started again


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
        self.suspects: deque[Call] = deque()  # requests of a dead worker, waiting to be sent again alone
        self.description: ModuleDescription | None = None
        self.depth = 0  # requests waiting or running
        self.ever_ready = False
        self.started = False  # every first worker loaded: from then on a worker that dies is replaced
        self.stopping = False
        self.loop: asyncio.AbstractEventLoop | None = None  # kept: looking it up is a system call (getpid)

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
        self.loop = asyncio.get_running_loop()
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
        fresh = await self._start_set(setup)
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

    async def _start_set(self, setup: WorkerSetup) -> list[WorkerProcess]:
        """A new worker for every slot, all loaded; one killed while loading is started again.

        Raises WorkerStartError (after ending every new worker) when the module itself fails to load.
        """
        fresh = {index: await self._spawn(index, setup) for index in self._slots()}
        for attempt in range(1, LOAD_ATTEMPTS + 1):
            reasons = dict(zip(fresh, await asyncio.gather(*(w.ready for w in fresh.values())), strict=True))
            failed = {index: reason for index, reason in reasons.items() if reason is not None}
            if not failed:
                return list(fresh.values())
            own_failure = next((r for i, r in failed.items() if fresh[i].failure is not None), None)
            if own_failure is not None or attempt == LOAD_ATTEMPTS:
                await self._end_all(list(fresh.values()))
                raise WorkerStartError(own_failure or next(iter(failed.values())))
            for index, reason in failed.items():
                logger.warning("%s: a new worker %s; starting it again", self.name, reason)
                fresh[index] = await self._spawn(index, setup)
        raise AssertionError("unreachable")

    async def _end_all(self, workers: list[WorkerProcess]) -> None:
        for worker in workers:
            worker.protocol.close()
        await asyncio.gather(*(asyncio.to_thread(reap, w.process) for w in workers))

    async def _replace(self, dead: WorkerProcess) -> None:
        await asyncio.to_thread(reap, dead.process)
        healthy = dead.ready_since is not None and time.monotonic() - dead.ready_since >= HEALTHY_AFTER_S
        quick_deaths = 0 if healthy else dead.quick_deaths + 1
        self.settings.on_restart()
        await asyncio.sleep(restart_delay(quick_deaths))
        if not self.stopping and self.workers.get(dead.index) is dead:
            replacement = await self._spawn(dead.index, self.setup)
            replacement.quick_deaths, replacement.restarts = quick_deaths, dead.restarts + 1
            await self._take_slot(dead, replacement)

    async def _take_slot(self, old: WorkerProcess, new: WorkerProcess) -> None:
        """Put ``new`` in ``old``'s slot, unless a reload (or stop) changed the slot while it started."""
        if not self.stopping and self.workers.get(old.index) is old:
            self.workers[old.index] = new
        else:
            await self._end_all([new])

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
        await self._take_slot(old, replacement)

    def _close_leaving(self) -> None:
        """Close leaving workers that hold nothing, once a ready worker can take their place."""
        if not self.ready_workers():
            return
        for worker in [w for w in self.leaving if not w.in_flight]:  # abandoned calls need no answer
            self.leaving.discard(worker)
            worker.protocol.close()  # a worker exits when its socket closes
            asyncio.get_running_loop().create_task(asyncio.to_thread(reap, worker.process))

    # --- messages from workers

    def _on_message(self, worker: WorkerProcess, message: object) -> None:
        if isinstance(message, PredictReply):
            worker.last_reply_s = time.monotonic()
            call = worker.in_flight.pop(message.request_id, None)
            worker.abandoned.discard(message.request_id)
            if call is not None and not call.future.done():
                call.future.set_result(message)
            if worker.isolating and not worker.busy:
                self._isolation_over(worker)
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
            self._dispatch_waiting()
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
        kept, worker.reserved = worker.reserved, None
        if kept is not None and not kept.future.done():
            kept.waiting_on = None
            self._place_suspect(kept)  # it never ran there: not its fault
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
        """Send an unanswered request of a dead worker again, alone on another worker; answer 119 when
        it was already alone on the one that died (it is then the likely cause) or may not be retried."""
        if call.future.done():
            return
        if call.alone:
            logger.error(
                "%s: request %d was alone on worker pid %d when it died, after its first worker died too: "
                "it is the likely cause; answering 119",
                self.name,
                call.request_id,
                dead.pid,
            )
            message = (
                f"{self.name}: two worker processes died while running this request; it is likely the "
                "cause, so it is not sent again"
            )
        elif self.setup_allows_retry() and not self.stopping:
            logger.warning(
                "%s: request %d was on worker pid %d when it died; sending it again, alone",
                self.name,
                call.request_id,
                dead.pid,
            )
            self.settings.on_retry()
            self._place_suspect(call)
            return
        else:
            message = f"the worker process handling this request died (pid {dead.pid}); it is being replaced"
        call.future.set_result(failure_reply(Code.WORKER_LOST, message, call.request_id))

    def _place_suspect(self, call: Call) -> None:
        """A request of a dead worker goes to an idle worker that takes nothing else meanwhile; without
        an idle one, the least busy one stops taking requests until it has drained."""
        candidates = self._takers()
        idle = [worker for worker in candidates if not worker.busy]
        if idle:
            self._send_alone(idle[0], call)
        elif candidates:
            worker = min(candidates, key=lambda w: len(w.in_flight))
            worker.isolating, worker.reserved, call.waiting_on = True, call, worker
        else:
            self.suspects.append(call)

    def _send_alone(self, worker: WorkerProcess, call: Call) -> None:
        worker.isolating = True
        call.alone, call.waiting_on = True, None
        self._send(worker, call)

    def _isolation_over(self, worker: WorkerProcess) -> None:
        """A drained worker takes the request it was kept for; one whose lone request ended takes any."""
        call, worker.reserved = worker.reserved, None
        if call is not None and not call.future.done() and worker.state is WorkerState.READY:
            self._send_alone(worker, call)
            return
        worker.isolating = False
        self._dispatch_waiting()

    def setup_allows_retry(self) -> bool:
        return self.description is None or self.description.retry

    # --- requests

    def _takers(self) -> list[WorkerProcess]:
        """Workers that take new requests: ready and not kept for a dead worker's request; a retiring
        one only while no other is ready."""
        ready = [w for w in self.workers.values() if w.state is WorkerState.READY and w.takes_requests]
        return ready or [w for w in self.leaving if w.state is WorkerState.RETIRING and w.takes_requests]

    def _choose(self) -> WorkerProcess | None:
        """The least busy of the takers; of equals, the first: a worker that just answered has its
        caches warm, so light traffic stays on one worker and spreads only when it is busy."""
        takers = self._takers()
        return min(takers, key=lambda w: len(w.in_flight)) if takers else None

    def _dispatch(self, call: Call) -> None:
        worker = self._choose()
        if worker is None:
            call.worker = None
            self.parked.append(call)
            return
        self._send(worker, call)

    def _send(self, worker: WorkerProcess, call: Call) -> None:
        call.attempts += 1
        call.worker = worker
        worker.in_flight[call.request_id] = call
        worker.protocol.send(PredictCall(call.request_id, self.name, call.body))

    def _dispatch_waiting(self) -> None:
        """Dead workers' requests first (each alone), then those parked while no worker was ready."""
        for _ in range(len(self.suspects)):
            call = self.suspects.popleft()
            if not call.future.done():
                self._place_suspect(call)
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
        loop = self.loop or asyncio.get_running_loop()
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
        if worker is not None and call.waiting_on is None:
            self._kill_if_wedged(worker)  # before it is free to take other requests
        self._forget(call)
        message = (
            f"{self.name} did not answer within {self.settings.timeout_s:g} s; "
            'raise the server\'s timeout (--timeout or config "timeout") or send less work'
        )
        call.future.set_result(failure_reply(Code.TIMEOUT, message, call.request_id))

    def _forget(self, call: Call) -> None:
        """Take a request out of wherever it waits or runs."""
        if call.waiting_on is not None:
            keeper, call.waiting_on = call.waiting_on, None
            keeper.reserved = None
            if not keeper.busy:
                self._isolation_over(keeper)
        elif call.worker is not None:
            worker = call.worker
            if worker.in_flight.pop(call.request_id, None) is not None:
                worker.abandoned.add(call.request_id)  # it still runs there: the worker is not free
        for queue in (self.parked, self.suspects):
            with contextlib.suppress(ValueError):
                queue.remove(call)

    def _kill_if_wedged(self, worker: WorkerProcess) -> None:
        """A worker that answered nothing for a whole timeout is stuck: replace it (said once)."""
        if (
            worker.state is WorkerState.READY
            and not worker.killed
            and time.monotonic() - worker.last_reply_s >= self.settings.timeout_s
        ):
            worker.killed = True
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
