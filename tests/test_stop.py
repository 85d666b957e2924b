"""``hub serving stop`` and ``status`` trust a pid record only when it names a hubserving server."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from hubserving.hub.inuse import running_servers
from hubserving.paths import HubHome
from hubserving.pidrecord import PidRecord, write_record
from hubserving.status import collect
from hubserving.stop import StopOutcome, stop_server
from tests.serverproc import free_port, run_hub


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is no hubserving server; killed by its pid at the end."""
    process = subprocess.Popen(["sleep", "60"])
    try:
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)


def record_naming(process: subprocess.Popen[bytes], home: Path) -> int:
    """A well-formed record for a free port whose pid and creation time are ``process``'s."""
    port = free_port()
    created = psutil.Process(process.pid).create_time()
    write_record(HubHome(home), PidRecord(process.pid, ["echo==1.0.0"], created, port, "", created))
    return port


def test_stop_spares_a_process_that_is_no_hubserving_server(
    tmp_path: Path, bystander: subprocess.Popen[bytes]
) -> None:
    home = HubHome(tmp_path)
    port = record_naming(bystander, tmp_path)
    result = stop_server(home, port, grace_s=5.0)
    assert result.outcome is StopOutcome.NOT_A_SERVER and result.pids == (bystander.pid,)
    assert bystander.poll() is None, "stop signalled a process that is not a hubserving server"
    assert not home.pid_record(port).exists()


def test_the_stop_command_spares_it_too(tmp_path: Path, bystander: subprocess.Popen[bytes]) -> None:
    port = record_naming(bystander, tmp_path)
    result = run_hub(["serving", "stop", "--port", str(port)], tmp_path)
    assert "will stop" not in result.stdout
    assert bystander.poll() is None and not HubHome(tmp_path).pid_record(port).exists()


def test_status_and_uninstall_see_the_record_as_stale(
    tmp_path: Path, bystander: subprocess.Popen[bytes]
) -> None:
    home = HubHome(tmp_path)
    port = record_naming(bystander, tmp_path)
    assert running_servers(home) == []
    running, stale = collect(home)
    assert running == [] and stale == [port]
    assert bystander.poll() is None and not home.pid_record(port).exists()


def test_a_record_of_an_exited_process_is_already_stopped(tmp_path: Path) -> None:
    finished = subprocess.Popen(["true"])
    finished.wait(timeout=10)
    port = free_port()
    write_record(HubHome(tmp_path), PidRecord(finished.pid, None, 0.0, port, "", 0.0))
    assert stop_server(HubHome(tmp_path), port).outcome is StopOutcome.ALREADY_STOPPED
    assert stop_server(HubHome(tmp_path), port).outcome is StopOutcome.NO_RECORD
