"""Which running servers serve a module, from their pid records (``module``: ``name==version``)."""

from __future__ import annotations

from dataclasses import dataclass

from hubserving.errors import ModuleInUse
from hubserving.hub.console import say_stderr
from hubserving.paths import HubHome
from hubserving.pidrecord import all_records, live_server


@dataclass(frozen=True)
class RunningServer:
    port: int
    pid: int
    modules: tuple[str, ...]


def running_servers(home: HubHome) -> list[RunningServer]:
    """Servers whose record names a live process (records are left alone: ``hub serving status`` cleans)."""
    return [
        RunningServer(record.port, record.pid, tuple(record.module or ()))
        for record in all_records(home)
        if live_server(record) is not None
    ]


def refuse_if_in_use(home: HubHome, label: str, force: bool) -> None:
    """ModuleInUse when a running server serves ``label`` (``name==version``); with ``force``, a warning."""
    users = [server for server in running_servers(home) if label in server.modules]
    if not users:
        return
    where = ", ".join(f"port {server.port} (pid {server.pid})" for server in users)
    if not force:
        raise ModuleInUse(
            f"{label} is in use by the running server on {where}: stop it first "
            f"(hub serving stop --port {users[0].port}), unload it from a server started with --admin "
            f"(hub serving unload --port {users[0].port} -m {label.split('==')[0]}), or add --force"
        )
    say_stderr(
        f"warning: {label} is in use by the running server on {where}; going ahead (--force). "
        "The server keeps the copy it has loaded, but a worker it restarts loads what is on disk then"
    )
