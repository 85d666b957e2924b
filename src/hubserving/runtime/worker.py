"""A model worker process: loads its module, then answers calls from the front over a socket.

Started by the pool as ``python -m hubserving.runtime.worker <fd>``. One thread: it waits for the
socket, takes every call that has arrived (one read for all of them) and lets each module's handler
batch what is compatible; calls that arrive while a model runs wait in the socket for the next turn.
A module with a batching wait (``max_wait_ms``) holds its calls for that long after the first
arrives; the others run at once: each module waits only its own window.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import select
import signal
import socket
import sys
import time

from hubserving.errors import HubServingError
from hubserving.hub.errortrace import own_traceback
from hubserving.logs import LogSettings, configure_logging
from hubserving.module.loader import load_module
from hubserving.runtime import wire
from hubserving.runtime.handler import BatchPolicy, ModuleHandler
from hubserving.runtime.messages import (
    ModuleDescription,
    ModuleSpec,
    PredictCall,
    WorkerFailed,
    WorkerReady,
    WorkerRetiring,
    WorkerSetup,
)

logger = logging.getLogger("hubserving.worker")

READ_SIZE = 1 << 18  # bytes a read takes from the socket at most


def build_handler(spec: ModuleSpec, use_gpu: bool) -> ModuleHandler:
    loaded = load_module(spec.directory, spec.init_args, use_gpu)
    batching = spec.batching
    size = batching.max_batch_size or loaded.spec.max_batch_size
    policy = BatchPolicy(batching.enabled, size, batching.max_wait_ms / 1000)
    return ModuleHandler(spec.name, loaded, spec.predict_args, policy)


def describe(handler: ModuleHandler) -> ModuleDescription:
    loaded = handler.loaded
    return ModuleDescription(
        name=handler.name,
        info=loaded.info,
        method=getattr(loaded.method, "__name__", "serving"),
        parameters=loaded.signature.parameters,
        predict_args=handler.predict_args,
        batch_arg=handler.batch_arg,
        max_batch_size=handler.policy.max_batch_size if handler.batch_arg else None,
        input_kind=loaded.spec.input,
        input_arg=loaded.spec.input_argument,
        details=loaded.details,
        aliases=loaded.spec.aliases,
        retry=loaded.spec.retry,
    )


@functools.cache
def _statm(pid: int) -> int | None:
    """A descriptor of process ``pid``'s /proc statm, kept open (reopening it cost 9 of 10 microseconds)."""
    try:
        return os.open(f"/proc/{pid}/statm", os.O_RDONLY)
    except OSError:
        return None


def resident_mb() -> int:
    """This process's resident memory in MB (from /proc where there is one: about a microsecond)."""
    statm = _statm(os.getpid())  # by pid: a forked child must not read its parent's
    if statm is not None:
        return int(os.pread(statm, 128, 0).split()[1]) * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)
    import psutil

    return int(psutil.Process().memory_info().rss // (1024 * 1024))


class Worker:
    """Owns the socket to the front and the loaded handlers."""

    def __init__(
        self,
        sock: socket.socket,
        handlers: dict[str, ModuleHandler],
        memory_limit_mb: int | None = None,
    ) -> None:
        self.sock = sock
        self.memory_limit_mb = memory_limit_mb
        self.retiring = False
        self.handlers = handlers
        self.received = bytearray()  # bytes read from the front, up to the end of the last whole frame
        self.poller = select.poll()
        self.poller.register(sock, select.POLLIN)
        self.pending: dict[str, list[PredictCall]] = {}
        self.deadlines: dict[str, float] = {}  # per module: when its waiting calls run

    def send(self, *messages: object) -> None:
        """One write for all of them."""
        self.sock.sendall(b"".join(wire.encode(message) for message in messages))

    def collect(self) -> bool:
        """Wait for a call (no longer than the nearest module's deadline), then take all that arrived.

        False when the front has closed the socket: this worker is done.
        """
        timeout = max(0.0, min(self.deadlines.values()) - time.monotonic()) if self.deadlines else None
        if not self.poller.poll(None if timeout is None else math.ceil(timeout * 1000)):
            return True
        while True:
            try:
                data = self.sock.recv(READ_SIZE, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            if not data:
                return False
            self.received += data
            if len(data) < READ_SIZE:
                break  # the socket is empty (or nearly): no second read for nothing
        for message in wire.take_frames(self.received):
            self._add(message)
        return True

    def _add(self, call: PredictCall) -> None:
        """Queue a call under its module; a module's first call sets when the module's calls run."""
        handler = self.handlers[call.module]
        calls = self.pending.setdefault(call.module, [])
        calls.append(call)
        if len(calls) == 1:
            self.deadlines[call.module] = time.monotonic() + handler.policy.max_wait_s
        if handler.batch_arg is None or len(calls) >= handler.policy.max_batch_size:
            self.deadlines[call.module] = 0.0  # nothing to wait for

    def run_due(self) -> None:
        """Handle every module whose wait is over, and send all their replies in one write."""
        now = time.monotonic()
        replies = []
        for module in [m for m, deadline in self.deadlines.items() if deadline <= now]:
            del self.deadlines[module]
            replies.extend(self.handlers[module].handle(self.pending.pop(module)))
        if replies:
            self.send(*replies)
            self.check_memory()

    def check_memory(self) -> None:
        """Past the memory limit after a call: ask the front, once, to replace this worker."""
        if self.memory_limit_mb is None or self.retiring:
            return
        rss_mb = resident_mb()
        if rss_mb > self.memory_limit_mb:
            self.retiring = True
            logger.warning(
                "this worker uses %d MB, over worker_memory_mb (%d): asking to be replaced",
                rss_mb,
                self.memory_limit_mb,
            )
            self.send(WorkerRetiring(os.getpid(), rss_mb))

    def serve_forever(self) -> None:
        while self.collect():
            self.run_due()
        os._exit(0)  # the front closed the socket; no interpreter teardown (the model's threads)


def run(fd: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the front's to handle
    sock = socket.socket(fileno=fd)
    received = bytearray()
    while not (messages := wire.take_frames(received)):
        data = sock.recv(READ_SIZE)
        if not data:
            sys.exit(0)  # the front gave up before sending the setup
        received += data
    setup = messages[0]  # the front sends nothing else before this worker is ready
    if not isinstance(setup, WorkerSetup):
        sys.exit("hubserving worker: expected the setup message first")
    configure_logging(setup.log or LogSettings(None, ""))
    os.nice(setup.nice)  # before the model starts its threads: they inherit it
    handlers: dict[str, ModuleHandler] = {}
    for spec in setup.modules:
        try:
            handlers[spec.name] = build_handler(spec, setup.use_gpu)
        except Exception as error:
            report_failure(sock, spec, error)
            sys.exit(1)
    worker = Worker(sock, handlers, setup.memory_limit_mb)
    try:
        worker.send(WorkerReady(os.getpid(), tuple(describe(h) for h in handlers.values())))
    except OSError:  # the front gave up on the start (another worker failed) while this one loaded
        sys.exit(0)
    worker.serve_forever()


def load_failure(spec: ModuleSpec, error: Exception) -> str:
    """Why ``spec`` could not load: one line, then the module's own traceback (not hubserving's frames)."""
    text = str(error).strip() or type(error).__name__
    if isinstance(error, HubServingError):
        return text  # our own errors say what to do; their frames are ours
    summary = f"{type(error).__name__}: {text.splitlines()[0]}"
    trace = own_traceback(error, spec.directory)
    return f"{summary}\n{trace}" if "\n" in trace else summary  # no frames: the summary says it all


def report_failure(sock: socket.socket, spec: ModuleSpec, error: Exception) -> None:
    """The cause, in this worker's log file and to the front; the front tells stderr, once for all
    workers. Quiet when the front has already gone (another worker's failure ended the start)."""
    message = load_failure(spec, error)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if not isinstance(h, logging.FileHandler)]:
        root.removeHandler(handler)
    logger.error("%s failed to load: %s", spec.name, message)
    with contextlib.suppress(OSError):
        sock.sendall(wire.encode(WorkerFailed(os.getpid(), message)))


if __name__ == "__main__":
    run(int(sys.argv[1]))
