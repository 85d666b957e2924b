"""The pid record ``$HUB_HOME/conf/serving_<port>.json``: how ``stop`` finds a running server.

A record names a process by pid and creation time; before anything trusts it, the process must still
be that one (same creation time) and still be a hubserving server (its command line runs ``hub``).
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from hubserving.paths import HubHome

CREATE_TIME_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class PidRecord:
    """The reference's fields (pid, module, start_time) plus what makes stop safe."""

    pid: int
    module: list[str] | None
    start_time: float
    port: int
    host: str
    process_create_time: float
    control_token: str = ""  # lets local `hub serving reload/load/unload` manage the server

    @classmethod
    def for_this_process(
        cls, modules: list[str], port: int, host: str, start_time: float, control_token: str = ""
    ) -> PidRecord:
        pid = os.getpid()
        return cls(pid, modules, start_time, port, host, psutil.Process(pid).create_time(), control_token)


def write_record(home: HubHome, record: PidRecord) -> Path:
    """Write atomically, so a concurrent ``stop`` never reads half a file."""
    path = home.pid_record(record.port)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the token
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(json.dumps(asdict(record), ensure_ascii=False))
    temporary.replace(path)
    return path


def read_record(home: HubHome, port: int) -> PidRecord | None:
    """The record for ``port``; None when there is none. A damaged record counts as stale."""
    path = home.pid_record(port)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return PidRecord(
            pid=int(data["pid"]),
            module=data.get("module"),
            start_time=float(data.get("start_time", 0.0)),
            port=int(data.get("port", port)),
            host=str(data.get("host", "")),
            process_create_time=float(data.get("process_create_time", 0.0)),
            control_token=str(data.get("control_token", "")),
        )
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return PidRecord(pid=0, module=None, start_time=0.0, port=port, host="", process_create_time=0.0)


def remove_record(home: HubHome, port: int, pid: int | None = None) -> None:
    """Remove the record; with ``pid``, only if the record is still that process's."""
    if pid is not None:
        current = read_record(home, port)
        if current is not None and current.pid != pid:
            return
    home.pid_record(port).unlink(missing_ok=True)


def all_records(home: HubHome) -> list[PidRecord]:
    """Every pid record under ``$HUB_HOME/conf``, by port; a damaged one reads as pid 0 (stale)."""
    ports = sorted(
        int(port)
        for path in home.conf_dir.glob("serving_*.json")
        if (port := path.stem.removeprefix("serving_")).isdigit()
    )
    return [record for port in ports if (record := read_record(home, port)) is not None]


def live_process(record: PidRecord) -> psutil.Process | None:
    """The recorded process if it still runs; None if it exited or its pid now belongs to another process."""
    if record.pid <= 0:
        return None
    try:
        process = psutil.Process(record.pid)
        if abs(process.create_time() - record.process_create_time) > CREATE_TIME_TOLERANCE_S:
            return None
        return process if process.status() != psutil.STATUS_ZOMBIE else None
    except psutil.Error:
        return None


def runs_hubserving(command: list[str]) -> bool:
    """Whether a command line is ``hub serving ...``: the ``hub`` script or ``python -m hubserving``."""
    program = command[:2]
    script = any(Path(arg).stem == "hub" for arg in program)
    module = any(
        flag == "-m" and (name == "hubserving" or name.startswith("hubserving."))
        for flag, name in itertools.pairwise(command)
    )
    return (script or module) and "serving" in command


def is_hubserving_server(process: psutil.Process) -> bool:
    """Whether ``process`` runs ``hub serving``; False when its command line cannot be read."""
    try:
        return runs_hubserving(process.cmdline())
    except psutil.Error:
        return False


def live_server(record: PidRecord) -> psutil.Process | None:
    """The recorded server if it still runs and is a hubserving server; else None (the record is stale)."""
    process = live_process(record)
    return process if process is not None and is_hubserving_server(process) else None
