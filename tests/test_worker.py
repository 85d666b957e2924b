"""The worker's intake: batch what has arrived, never wait when idle; one math thread per worker."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from hubserving.runtime.messages import PredictCall
from hubserving.runtime.threads import worker_environment
from hubserving.runtime.worker import Worker


@pytest.fixture
def worker_factory():  # type: ignore[no-untyped-def]
    ends: list[socket.socket] = []

    def make(max_wait_s: float) -> Worker:
        left, right = socket.socketpair()
        ends.extend([left, right])
        return Worker(left, left.makefile("rb"), {}, max_wait_s)

    yield make
    for end in ends:
        end.close()


def call(i: int) -> PredictCall:
    return PredictCall(i, "echo", b"{}")


def test_takes_everything_that_has_arrived(worker_factory) -> None:  # type: ignore[no-untyped-def]
    worker = worker_factory(0.0)
    for i in range(5):
        worker.inbox.put(call(i))
    assert [c.request_id for c in worker.take_arrived()] == [0, 1, 2, 3, 4]


def test_never_waits_when_nothing_else_is_queued(worker_factory) -> None:  # type: ignore[no-untyped-def]
    worker = worker_factory(0.0)
    worker.inbox.put(call(1))
    started = time.perf_counter()
    assert [c.request_id for c in worker.take_arrived()] == [1]
    assert time.perf_counter() - started < 0.005


def test_max_wait_collects_what_arrives_within_it(worker_factory) -> None:  # type: ignore[no-untyped-def]
    worker = worker_factory(0.2)
    worker.inbox.put(call(1))
    threading.Timer(0.05, worker.inbox.put, args=(call(2),)).start()
    started = time.perf_counter()
    taken = worker.take_arrived()
    assert [c.request_id for c in taken] == [1, 2]
    assert 0.15 <= time.perf_counter() - started < 1.0


def test_workers_get_one_math_thread_unless_configured() -> None:
    environment = worker_environment({"MKL_NUM_THREADS": "4", "PATH": "/bin"}, cuda_devices=None)
    assert environment["OMP_NUM_THREADS"] == "1" and environment["OPENBLAS_NUM_THREADS"] == "1"
    assert environment["MKL_NUM_THREADS"] == "4" and environment["PATH"] == "/bin"
    assert "CUDA_VISIBLE_DEVICES" not in environment
    assert worker_environment({}, cuda_devices="1")["CUDA_VISIBLE_DEVICES"] == "1"
