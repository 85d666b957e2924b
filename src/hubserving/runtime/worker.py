"""A model worker process: loads every module, then answers calls from the front over a socket.

Started by the pool as ``python -m hubserving.runtime.worker <fd>``. A receiver thread queues
incoming calls; the main thread takes everything that has arrived (never waiting when idle),
and lets each module's handler batch what is compatible.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import signal
import socket
import sys
import threading
import time
import traceback
from collections import defaultdict
from typing import BinaryIO

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
    WorkerSetup,
)

logger = logging.getLogger("hubserving.worker")

DEFAULT_MAX_BATCH_SIZE = 32


def build_handler(spec: ModuleSpec, use_gpu: bool) -> ModuleHandler:
    loaded = load_module(spec.directory, spec.init_args, use_gpu)
    size = spec.max_batch_size or loaded.spec.max_batch_size or DEFAULT_MAX_BATCH_SIZE
    return ModuleHandler(spec.name, loaded, spec.predict_args, BatchPolicy(spec.batching, size))


def describe(handler: ModuleHandler) -> ModuleDescription:
    info = handler.loaded.info
    return ModuleDescription(
        name=handler.name,
        version=info.version,
        summary=info.summary,
        author=info.author,
        type=info.type,
        method=getattr(handler.loaded.method, "__name__", "serving"),
        parameters=handler.loaded.signature.parameters,
        predict_args=handler.predict_args,
        batch_arg=handler.batch_arg,
        max_batch_size=handler.policy.max_batch_size if handler.batch_arg else None,
        details=handler.loaded.details,
        aliases=handler.loaded.spec.aliases,
    )


class Worker:
    """Owns the socket to the front and the loaded handlers."""

    def __init__(
        self, sock: socket.socket, stream: BinaryIO, handlers: dict[str, ModuleHandler], max_wait_s: float
    ) -> None:
        self.sock = sock
        self.stream = stream
        self.handlers = handlers
        self.max_wait_s = max_wait_s
        self.inbox: queue.SimpleQueue[PredictCall | None] = queue.SimpleQueue()

    def send(self, *messages: object) -> None:
        """One write for all of them; only the main thread sends (the receiver thread only reads)."""
        self.sock.sendall(b"".join(wire.encode(message) for message in messages))

    def receive_forever(self) -> None:
        """Receiver thread: queue calls; the front closing the socket ends the process."""
        while True:
            message = wire.read_frame(self.stream)
            if message is None:
                os._exit(0)
            self.inbox.put(message)

    def take_arrived(self) -> list[PredictCall]:
        """Block for the first call, then take whatever else has already arrived."""
        first = self.inbox.get()
        calls = [first] if first is not None else []
        deadline = time.monotonic() + self.max_wait_s
        while True:
            try:
                item = self.inbox.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self.inbox.get(timeout=remaining)
                except queue.Empty:
                    break
            if item is not None:
                calls.append(item)
        return calls

    def serve_forever(self) -> None:
        threading.Thread(target=self.receive_forever, name="hub-receiver", daemon=True).start()
        while True:
            by_module: dict[str, list[PredictCall]] = defaultdict(list)
            for call in self.take_arrived():
                by_module[call.module].append(call)
            replies = []
            for module, calls in by_module.items():
                replies.extend(self.handlers[module].handle(calls))
            self.send(*replies)


def run(fd: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the front's to handle
    sock = socket.socket(fileno=fd)
    stream = sock.makefile("rb")
    setup = wire.read_frame(stream)
    if not isinstance(setup, WorkerSetup):
        sys.exit("hubserving worker: expected the setup message first")
    log = setup.log or LogSettings(None, "")
    name = log.file_name.replace(".log", f".worker{setup.worker_index}.log")
    configure_logging(dataclasses.replace(log, file_name=name))
    try:
        handlers = {spec.name: build_handler(spec, setup.use_gpu) for spec in setup.modules}
    except Exception:
        sock.sendall(wire.encode(WorkerFailed(os.getpid(), traceback.format_exc())))
        sys.exit(1)
    max_wait_s = max((spec.max_wait_ms for spec in setup.modules), default=0.0) / 1000
    worker = Worker(sock, stream, handlers, max_wait_s)
    worker.send(WorkerReady(os.getpid(), tuple(describe(h) for h in handlers.values())))
    worker.serve_forever()


if __name__ == "__main__":
    run(int(sys.argv[1]))
