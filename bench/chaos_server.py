"""What the chaos and isolation benches share: a `hub serving start` subprocess in a throwaway HUB_HOME.

The server is started from a config file (host and port live there: with `-c`, `hub serving start`
ignores `--host` and `-p`), binds 127.0.0.1 on a free port, logs to a file, and is stopped by pid with
every process it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import psutil
from loadgen import free_port

ROOT = Path(__file__).resolve().parent.parent
TEST_MODULES = ROOT / "tests" / "fixtures" / "modules"
READY_TIMEOUT_S = 180.0
STOP_GRACE_S = 15.0
MB = 1024 * 1024


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The value ``fraction`` of the way up an already sorted, non-empty sequence."""
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


class Server:
    """`hub serving start -c <home>/config.json` in a subprocess; `stop()` ends the whole tree."""

    def __init__(self, home: Path, config: dict[str, Any]) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "server.log"
        self.config_path = home / "config.json"
        self.config_path.write_text(json.dumps({**config, "host": "127.0.0.1", "port": self.port}, indent=2))
        command = [sys.executable, "-m", "hubserving", "serving", "start", "-c", str(self.config_path)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, env=self.env(), stdout=log, stderr=subprocess.STDOUT)

    def env(self) -> dict[str, str]:
        """The environment of this server and of the `hub` commands that talk to it."""
        return {**os.environ, "HUB_HOME": str(self.home)}

    def hub(self, *arguments: str, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
        """Run `hub <arguments>` against this server's home."""
        command = [sys.executable, "-m", "hubserving", *arguments]
        return subprocess.run(command, env=self.env(), capture_output=True, text=True, timeout=timeout_s)

    def workers(self) -> list[psutil.Process]:
        """The server's child processes: its workers (loading, serving or draining)."""
        with contextlib.suppress(psutil.NoSuchProcess):
            return psutil.Process(self.process.pid).children()
        return []

    def worker_rss_mb(self) -> dict[int, float]:
        """Resident memory of each worker, by pid (workers that end meanwhile are left out)."""
        sizes = {}
        for worker in self.workers():
            with contextlib.suppress(psutil.NoSuchProcess):
                sizes[worker.pid] = worker.memory_info().rss / MB
        return sizes

    def wait_ready(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/ready", timeout=5).status_code == 200:
                    return True
            time.sleep(0.1)
        return False

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log other than access lines."""
        events = [line for line in self.log_text().splitlines() if " access " not in line]
        return "\n".join(events[-lines:])

    def keep_log(self, destination: Path | None) -> None:
        """Copy the server's log to ``destination`` (the home is removed at the end)."""
        if destination is not None:
            shutil.copyfile(self.log_path, destination)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL whatever of the tree is left after a grace period."""
        with contextlib.suppress(psutil.NoSuchProcess):
            family = [psutil.Process(self.process.pid)]
            family += family[0].children(recursive=True)
            self.process.send_signal(signal.SIGTERM)
            _, alive = psutil.wait_procs(family, timeout=STOP_GRACE_S)
            for process in alive:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_GRACE_S)


@contextlib.contextmanager
def scratch_home() -> Iterator[Path]:
    """A temporary HUB_HOME holding the test modules (echo, ...); always removed."""
    home = Path(tempfile.mkdtemp(prefix="hubserving-bench-"))
    try:
        shutil.copytree(TEST_MODULES, home / "modules")
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def running_server(home: Path, config: dict[str, Any]) -> Iterator[Server]:
    """A ready server in ``home`` serving ``config`` (host and port are filled in); always stopped."""
    server = Server(home, config)
    try:
        if not server.wait_ready(READY_TIMEOUT_S):
            raise RuntimeError(f"the server did not become ready:\n{server.log_tail()}")
        yield server
    finally:
        server.stop()


def run_for(threads: Sequence[threading.Thread], stop: threading.Event, duration_s: float) -> None:
    """Start ``threads``, let them run ``duration_s`` (or until ``stop`` is set), then stop and join them."""
    for thread in threads:
        thread.start()
    try:
        stop.wait(duration_s)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
