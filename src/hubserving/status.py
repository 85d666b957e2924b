"""``hub serving status``: the servers recorded under ``$HUB_HOME/conf``; stale records are removed."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass

from hubserving.paths import HubHome
from hubserving.pidrecord import live_process, read_record, remove_record


@dataclass(frozen=True)
class ServerStatus:
    port: int
    pid: int
    modules: list[str]
    uptime_s: float
    ready: bool


def probe_ready(port: int) -> bool:
    """``GET /ready`` on this machine (open even behind an API key)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def collect(home: HubHome) -> tuple[list[ServerStatus], list[int]]:
    """Running servers, and the ports whose records were stale (and are now removed)."""
    running: list[ServerStatus] = []
    stale: list[int] = []
    for path in sorted(home.conf_dir.glob("serving_*.json")):
        port_text = path.stem.removeprefix("serving_")
        if not port_text.isdigit():
            continue
        port = int(port_text)
        record = read_record(home, port)
        if record is None:
            continue
        if live_process(record) is None:
            remove_record(home, port)
            stale.append(port)
            continue
        uptime = time.time() - record.start_time
        running.append(
            ServerStatus(port, record.pid, record.module or [], round(uptime, 1), probe_ready(port))
        )
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
        print(f"removed the stale record of port {port} (its server is gone)")
    if not running:
        print("no hubserving server is running")
        return 0
    print(f"{'PORT':<7}{'PID':<9}{'READY':<7}{'UPTIME':<12}MODULES")
    for server in running:
        ready = "yes" if server.ready else "no"
        uptime = _uptime(server.uptime_s)
        print(f"{server.port:<7}{server.pid:<9}{ready:<7}{uptime:<12}{', '.join(server.modules)}")
    return 0
