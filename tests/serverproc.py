"""Start ``hub serving start`` as a real subprocess on a free port, and always stop it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
import psutil


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def hub_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hubserving", *args]


def run_hub(
    args: Sequence[str], hub_home: Path, timeout_s: float = 60, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a ``hub`` command to completion."""
    env = {**os.environ, "HUB_HOME": str(hub_home)}
    return subprocess.run(
        hub_command(*args), capture_output=True, text=True, timeout=timeout_s, env=env, cwd=cwd
    )


class ServerProcess:
    """A running ``hub serving start``; use as a context manager."""

    def __init__(
        self,
        args: Sequence[str],
        hub_home: Path,
        port: int,
        cwd: Path | None = None,
        ready_timeout_s: float = 120,
        preexec: Callable[[], None] | None = None,
    ) -> None:
        """``preexec`` runs in the child before ``hub`` starts (to set its limits, say)."""
        self.port = port
        self.hub_home = hub_home
        self.url = f"http://127.0.0.1:{port}"
        self.ready_timeout_s = ready_timeout_s
        env = {**os.environ, "HUB_HOME": str(hub_home)}
        # Files, not pipes: nobody reads a pipe while the server runs, and a full one would block it.
        self.log_dir = Path(tempfile.mkdtemp(prefix="hubserving-test-"))
        self.stdout_path, self.stderr_path = self.log_dir / "stdout", self.log_dir / "stderr"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                hub_command("serving", "start", *args),
                stdout=out,
                stderr=err,
                env=env,
                cwd=cwd,
                preexec_fn=preexec,
            )
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early ({self.process.returncode}):\n{self.output()}")
            try:
                if self.client.get("/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server not ready in {self.ready_timeout_s} s")

    def post(self, module: str, body: object) -> httpx.Response:
        return self.client.post(f"/predict/{module}", json=body)

    def family(self) -> list[psutil.Process]:
        try:
            server = psutil.Process(self.process.pid)
            return [server, *server.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def output(self) -> str:
        out = self.stdout_path.read_text(encoding="utf-8", errors="replace")
        err = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        return f"stdout:\n{out}\nstderr:\n{err}"

    def stop(self) -> None:
        family = self.family()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
        for process in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        self.client.close()
        shutil.rmtree(self.log_dir, ignore_errors=True)

    def __enter__(self) -> ServerProcess:
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
