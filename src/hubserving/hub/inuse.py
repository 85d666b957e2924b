"""Which running servers serve a module, from their pid records (``module``: ``name==version``)."""

from __future__ import annotations

from dataclasses import dataclass

from hubserving.errors import ModuleInUse
from hubserving.hub.console import say_stderr
from hubserving.paths import HubHome
from hubserving.pidrecord import live_process, read_record


@dataclass(frozen=True)
class RunningServer:
    port: int
    pid: int
    modules: tuple[str, ...]


def running_servers(home: HubHome) -> list[RunningServer]:
    """Servers whose record names a live process (records are left alone: ``hub serving status`` cleans)."""
    servers = []
    for path in sorted(home.conf_dir.glob("serving_*.json")):
        port_text = path.stem.removeprefix("serving_")
        record = read_record(home, int(port_text)) if port_text.isdigit() else None
        if record is not None and live_process(record) is not None:
            servers.append(RunningServer(record.port, record.pid, tuple(record.module or ())))
    return servers


def refuse_if_in_use(home: HubHome, label: str, force: bool) -> None:
    """ModuleInUse when a running server serves ``label`` (``name==version``); with ``force``, a warning."""
    users = [server for server in running_servers(home) if label in server.modules]
    if not users:
        return
    where = ", ".join(f"port {server.port} (pid {server.pid})" for server in users)
    if not force:
        raise ModuleInUse(
            f"{label} is in use by the running server on {where}: stop it first "
            f"(hub serving stop --port {users[0].port}), or add --force"
        )
    say_stderr(
        f"warning: {label} is in use by the running server on {where}; going ahead (--force). "
        "The server keeps the copy it has loaded, but a worker it restarts loads what is on disk then"
    )
