"""``hub serving stop``: end the server recorded for a port, its workers, and free the port."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import psutil

from hubserving.paths import HubHome
from hubserving.pidrecord import is_hubserving_server, live_process, read_record, remove_record

POLL_S = 0.1


class StopOutcome(Enum):
    NO_RECORD = "no_record"
    ALREADY_STOPPED = "already_stopped"
    NOT_A_SERVER = "not_a_server"  # the record's pid runs something else: record removed, nothing signalled
    STOPPED = "stopped"
    KILLED = "killed"


@dataclass(frozen=True)
class StopResult:
    """What ``stop_server`` did; ``pids``: those it signalled (NOT_A_SERVER: the one it spared)."""

    outcome: StopOutcome
    pids: tuple[int, ...] = ()


def port_is_free(port: int) -> bool:
    """True when nothing accepts connections on ``port`` on this machine."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _running(process: psutil.Process) -> bool:
    """Alive and not a zombie (a zombie has exited; only its parent has not collected it yet)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_gone(processes: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    """The processes still running after waiting up to ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    alive = [process for process in processes if _running(process)]
    while alive and time.monotonic() < deadline:
        time.sleep(POLL_S)
        alive = [process for process in alive if _running(process)]
    return alive


def _wait_port(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not port_is_free(port) and time.monotonic() < deadline:
        time.sleep(POLL_S)


def stop_server(
    home: HubHome, port: int, announce: Callable[[], None] = lambda: None, grace_s: float = 40.0
) -> StopResult:
    """SIGTERM the recorded server, wait (bounded) for it and every worker, kill what remains.

    A record whose process is gone, or is no hubserving server (``is_hubserving_server``), is stale:
    it is removed and nothing is signalled.
    """
    record = read_record(home, port)
    if record is None:
        return StopResult(StopOutcome.NO_RECORD)
    server = live_process(record)
    if server is None:
        remove_record(home, port, record.pid)
        return StopResult(StopOutcome.ALREADY_STOPPED)
    if not is_hubserving_server(server):
        remove_record(home, port, record.pid)
        return StopResult(StopOutcome.NOT_A_SERVER, (server.pid,))
    announce()
    result = _end_family(server, grace_s)
    _wait_port(port, 5.0)
    remove_record(home, port)
    return result


def _end_family(server: psutil.Process, grace_s: float) -> StopResult:
    """SIGTERM ``server``; kill it and its children if they are not gone after ``grace_s``."""
    try:
        family = [server, *server.children(recursive=True)]
    except psutil.Error:
        family = [server]
    pids = tuple(process.pid for process in family)
    with contextlib.suppress(psutil.NoSuchProcess):
        server.terminate()
    alive = _wait_gone(family, grace_s)
    if not alive:
        return StopResult(StopOutcome.STOPPED, pids)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    _wait_gone(alive, 5.0)
    return StopResult(StopOutcome.KILLED, pids)
