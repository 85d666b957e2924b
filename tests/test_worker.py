"""The worker's intake: batch what has arrived, each module within its own wait; one math thread."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from hubserving.runtime import wire
from hubserving.runtime.handler import BatchPolicy
from hubserving.runtime.messages import PredictCall, PredictReply
from hubserving.runtime.threads import Cpu, this_cpu, worker_environment
from hubserving.runtime.worker import Worker


@dataclass
class RecordingHandler:
    """Stands in for a module's handler: records the calls of each ``handle``."""

    policy: BatchPolicy
    batch_arg: str | None = "texts"
    batches: list[list[int]] = field(default_factory=list)

    def handle(self, calls: list[PredictCall]) -> list[PredictReply]:
        self.batches.append([call.request_id for call in calls])
        return [PredictReply(call.request_id, 200, b"{}") for call in calls]


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    left, right = socket.socketpair()
    yield left, right
    left.close()
    right.close()


def make_worker(sock: socket.socket, **handlers: RecordingHandler) -> Worker:
    return Worker(sock, handlers)  # type: ignore[arg-type]


def replied_ids(sock: socket.socket) -> list[int]:
    """The request ids of the replies the worker has written so far."""
    received = bytearray()
    with contextlib.suppress(BlockingIOError):
        while data := sock.recv(65536, socket.MSG_DONTWAIT):
            received += data
    return [message.request_id for message in wire.take_frames(received)]


def call(i: int, module: str = "fast") -> PredictCall:
    return PredictCall(i, module, b"{}")


def test_takes_everything_that_has_arrived_as_one_batch(pair) -> None:  # type: ignore[no-untyped-def]
    fast = RecordingHandler(BatchPolicy(True, 32, 0.0))
    front = pair[1]
    worker = make_worker(pair[0], fast=fast)
    for i in range(5):  # five writes, read as one
        front.sendall(wire.encode(call(i)))
    worker.collect()
    worker.run_due()
    assert fast.batches == [[0, 1, 2, 3, 4]]
    assert replied_ids(pair[1]) == [0, 1, 2, 3, 4]


def test_a_module_without_a_wait_does_not_wait_for_another_modules_window(pair) -> None:  # type: ignore[no-untyped-def]
    fast = RecordingHandler(BatchPolicy(False, 32, 0.0), batch_arg=None)
    slow = RecordingHandler(BatchPolicy(True, 32, 30.0))
    front = pair[1]
    worker = make_worker(pair[0], fast=fast, slow=slow)
    front.sendall(wire.encode(call(1, "slow")))
    front.sendall(wire.encode(call(2, "fast")))
    worker.collect()
    worker.run_due()
    assert fast.batches == [[2]] and slow.batches == []  # slow's 30 s window is its own
    assert replied_ids(pair[1]) == [2]
    assert worker.pending == {"slow": [call(1, "slow")]}


def test_a_full_batch_runs_without_waiting_out_the_window(pair) -> None:  # type: ignore[no-untyped-def]
    slow = RecordingHandler(BatchPolicy(True, 3, 30.0))
    front = pair[1]
    worker = make_worker(pair[0], slow=slow)
    for i in range(3):
        front.sendall(wire.encode(call(i, "slow")))
    worker.collect()
    worker.run_due()
    assert slow.batches == [[0, 1, 2]]


def test_a_window_collects_what_arrives_within_it(pair) -> None:  # type: ignore[no-untyped-def]
    slow = RecordingHandler(BatchPolicy(True, 32, 0.05))
    front = pair[1]
    worker = make_worker(pair[0], slow=slow)
    front.sendall(wire.encode(call(1, "slow")))
    worker.collect()
    front.sendall(wire.encode(call(2, "slow")))
    while not slow.batches:
        worker.collect()
        worker.run_due()
    assert slow.batches == [[1, 2]]


def test_a_call_split_across_reads_waits_for_its_last_byte(pair) -> None:  # type: ignore[no-untyped-def]
    fast = RecordingHandler(BatchPolicy(True, 32, 0.0))
    front = pair[1]
    worker = make_worker(pair[0], fast=fast)
    frame = wire.encode(PredictCall(7, "fast", b'{"texts": ["' + b"x" * 1000 + b'"]}'))
    front.sendall(frame[:600])
    worker.collect()
    worker.run_due()
    assert fast.batches == []
    front.sendall(frame[600:])
    worker.collect()
    worker.run_due()
    assert fast.batches == [[7]] and replied_ids(front) == [7]


def test_the_front_closing_its_end_ends_the_worker(pair) -> None:  # type: ignore[no-untyped-def]
    worker = make_worker(pair[0], fast=RecordingHandler(BatchPolicy(True, 32, 0.0)))
    pair[1].shutdown(socket.SHUT_WR)
    assert worker.collect() is False


def test_workers_get_one_math_thread_unless_configured() -> None:
    environment = worker_environment({"MKL_NUM_THREADS": "4", "PATH": "/bin"}, cuda_devices=None)
    assert environment["OMP_NUM_THREADS"] == "1" and environment["OPENBLAS_NUM_THREADS"] == "1"
    assert environment["MKL_NUM_THREADS"] == "4" and environment["PATH"] == "/bin"
    assert "CUDA_VISIBLE_DEVICES" not in environment
    assert worker_environment({}, cuda_devices="1")["CUDA_VISIBLE_DEVICES"] == "1"


def test_on_an_amd_cpu_mkl_takes_the_kernels_of_its_instructions_unless_the_user_chose() -> None:
    avx512 = {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma"}
    zen4 = Cpu("AuthenticAMD", frozenset(avx512))
    assert worker_environment({}, None, zen4)["MKL_DEBUG_CPU_TYPE"] == "7"
    zen2 = Cpu("AuthenticAMD", frozenset({"avx2", "fma", "sse4_2"}))
    assert worker_environment({}, None, zen2)["MKL_DEBUG_CPU_TYPE"] == "5"
    assert "MKL_DEBUG_CPU_TYPE" not in worker_environment(
        {}, None, Cpu("AuthenticAMD", frozenset({"sse4_2"}))
    )
    assert "MKL_DEBUG_CPU_TYPE" not in worker_environment({}, None, Cpu("GenuineIntel", frozenset(avx512)))
    assert worker_environment({"MKL_DEBUG_CPU_TYPE": "5"}, None, zen4)["MKL_DEBUG_CPU_TYPE"] == "5"


def test_this_cpu_is_read_from_proc() -> None:
    cpu = this_cpu()
    assert cpu.vendor and "fpu" in cpu.flags  # every x86-64 CPU lists it
