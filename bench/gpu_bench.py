"""GPU serving measured against the same machine's CPU workers (issue 18), for a lent GPU machine.

Prepared here, run there in one call (see bench/GPU.md for the command): starts
`hub serving start -m efficientnet_lite0_imagenet` on the card and on CPU workers, one at a time, on
127.0.0.1; for each, images/s and p50 latency at c=1 and c=64 (threads posting one image a request);
for the card, GPU memory (`nvidia-smi --query-gpu=memory.used`) before, after warm-up and after
`--soak` seconds of c=64 load. Writes a Markdown report (`--out`). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from loadgen import free_port

ROOT = Path(__file__).resolve().parent.parent
IMAGE = ROOT / "tests" / "data" / "images" / "face_astronaut.jpg"
MODULE = "efficientnet_lite0_imagenet"


@dataclass(frozen=True)
class Cell:
    """One load level against one server."""

    server: str
    clients: int
    images_per_s: float
    p50_ms: float
    errors: int


def gpu_memory_mb() -> str:
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "n/a"
    return done.stdout.strip().replace("\n", ", ") or "n/a"


@contextlib.contextmanager
def server(args: list[str]) -> Iterator[str]:
    """``hub serving start`` with ``args`` on a free port of 127.0.0.1; stopped with its whole session."""
    port = free_port()
    home = Path(tempfile.mkdtemp(prefix="hub-gpu-"))
    command = [sys.executable, "-m", "hubserving", "serving", "start", "-m", MODULE, "--host", "127.0.0.1"]
    environment = {**os.environ, "HUB_HOME": str(home)}
    log = (home / "server.log").open("wb")
    process = subprocess.Popen(
        [*command, "-p", str(port), *args], env=environment, stdout=log, stderr=log, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/ready", timeout=5).status_code == 200:
                    break
            time.sleep(0.5)
        else:
            raise RuntimeError((home / "server.log").read_text(errors="replace")[-3000:])
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def load(url: str, name: str, clients: int, seconds: float) -> Cell:
    """``clients`` threads posting one image a request for ``seconds``."""
    body = {"images": [base64.b64encode(IMAGE.read_bytes()).decode()]}
    latencies: list[float] = []
    errors = [0]
    stop = time.monotonic() + seconds

    def client() -> None:
        with httpx.Client(base_url=url, timeout=120) as session:
            while time.monotonic() < stop:
                started = time.perf_counter()
                response = session.post(f"/predict/{MODULE}", json=body)
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors[0] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
    return Cell(name, clients, len(latencies) / seconds, p50, errors[0])


def devices_of(url: str) -> str:
    modules = httpx.get(f"{url}/modules", timeout=30).json()["modules"]
    return ", ".join(sorted({w["device"] for m in modules for w in m.get("worker_processes", [])}))


def measure(name: str, args: list[str], seconds: float, soak_s: float, notes: list[str]) -> list[Cell]:
    with server(args) as url:
        notes.append(
            f"- {name}: `hub serving start -m {MODULE} {' '.join(args)}`; workers on {devices_of(url)}"
        )
        load(url, name, 8, 5)  # warm-up
        memory_warm = gpu_memory_mb()
        cells = [load(url, name, 1, seconds), load(url, name, 64, seconds)]
        if soak_s:
            load(url, name, 64, soak_s)
            after = gpu_memory_mb()
            notes.append(f"  GPU memory (MiB): warm {memory_warm}; after {soak_s:.0f} s at c=64: {after}")
        return cells


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20, help="seconds per cell (default 20)")
    parser.add_argument(
        "--soak", type=float, default=300, help="seconds of GPU soak for memory (default 300)"
    )
    parser.add_argument("--cpu-workers", type=int, default=8, help="CPU workers to compare with (default 8)")
    parser.add_argument("--out", type=Path, default=Path("GPU.md"))
    args = parser.parse_args(argv)
    notes = [f"- GPU memory before any server: {gpu_memory_mb()} MiB"]
    cells = measure("gpu", ["--use_gpu", "--gpu", "0"], args.seconds, args.soak, notes)
    cells += measure("gpu x2 workers", ["--use_gpu", "--gpu", "0,0"], args.seconds, 0, notes)
    cpu = ["--use_multiprocess", "--workers", str(args.cpu_workers)]
    cells += measure(f"cpu x{args.cpu_workers}", cpu, args.seconds, 0, notes)
    rows = [
        f"| {c.server} | {c.clients} | {c.images_per_s:.1f} | {c.p50_ms:.1f} | {c.errors} |" for c in cells
    ]
    report = [
        "| server | clients | images/s | p50 ms | errors |",
        "|---|---|---|---|---|",
        *rows,
        "",
        *notes,
    ]
    args.out.write_text("\n".join(report) + "\n", encoding="utf-8")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
