"""``hub serving status``: the servers recorded under ``$HUB_HOME/conf``; stale records are removed.

A record is stale when its process is gone or is no hubserving server (its pid was reused).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any

from hubserving.paths import HubHome
from hubserving.pidrecord import all_records, live_server, remove_record


@dataclass(frozen=True)
class ServerStatus:
    port: int
    pid: int
    modules: list[str]
    uptime_s: float
    ready: bool
    workers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # per module; empty if unknown


def probe_ready(port: int) -> bool:
    """``GET /ready`` on this machine (open even behind an API key)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def probe_workers(port: int) -> dict[str, list[dict[str, Any]]]:
    """Each module's worker processes, from ``GET /modules`` (with ``HUB_API_KEY`` when it is set)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/modules")
    if os.environ.get("HUB_API_KEY"):
        request.add_header("Authorization", f"Bearer {os.environ['HUB_API_KEY']}")
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            modules = json.loads(response.read())["modules"]
    except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError):
        return {}
    return {module["name"]: module.get("worker_processes", []) for module in modules}


def collect(home: HubHome) -> tuple[list[ServerStatus], list[int]]:
    """Running servers, and the ports whose records were stale (and are now removed)."""
    running: list[ServerStatus] = []
    stale: list[int] = []
    for record in all_records(home):
        if live_server(record) is None:
            remove_record(home, record.port, record.pid)
            stale.append(record.port)
            continue
        uptime = round(time.time() - record.start_time, 1)
        ready = probe_ready(record.port)
        workers = probe_workers(record.port)
        running.append(ServerStatus(record.port, record.pid, record.module or [], uptime, ready, workers))
    return running, stale


def _uptime(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def print_status(home: HubHome, as_json: bool = False) -> int:
    running, stale = collect(home)
    if as_json:
        print(json.dumps({"servers": [asdict(s) for s in running], "removed_stale_ports": stale}))
        return 0
    for port in stale:
        print(f"removed the stale record of port {port} (no hubserving server runs as its pid)")
    if not running:
        print("no hubserving server is running")
        return 0
    print(f"{'PORT':<7}{'PID':<9}{'READY':<7}{'UPTIME':<12}MODULES")
    for server in running:
        ready = "yes" if server.ready else "no"
        uptime = _uptime(server.uptime_s)
        print(f"{server.port:<7}{server.pid:<9}{ready:<7}{uptime:<12}{', '.join(server.modules)}")
        for module, workers in server.workers.items():
            print(f"  {module}: " + "; ".join(_worker_line(worker) for worker in workers))
    return 0


def _worker_line(worker: dict[str, Any]) -> str:
    memory = f"{worker['memory_mb']} MB" if worker.get("memory_mb") is not None else "? MB"
    return f"pid {worker['pid']} {worker['state']}, {worker['restarts']} restarts, {memory}"
