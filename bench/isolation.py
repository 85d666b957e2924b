"""Module isolation: lac's latency at c=1 while three clients keep OCR busy (issue 12's target: p99 < 100 ms).

    python bench/isolation.py --seconds 20

Starts `hub serving start` with per-module pools, `{"lac": {"workers": 1}, "ch_pp-ocrv4": {"workers":
1}}`, in multiprocess mode on a free port of 127.0.0.1. Measures lac at one client (one sentence a
request, back to back, for `--seconds`) twice: with OCR idle, then while `--ocr-clients` clients
post 4-image requests to OCR back to back. Prints p50 / p99 / max of both, the ratio of the p99s and
how much OCR work was done meanwhile. Exits 1 when a request failed or the busy p99 is over 100 ms.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field

import httpx
import psutil
from chaos_server import ROOT, percentile, running_server, scratch_home

IMAGE = ROOT / "tests" / "data" / "images" / "ocr_zh_en.png"
IMAGES_PER_REQUEST = 4
SENTENCE = "今天是个好日子，我们一起去北京大学的图书馆看书"
TARGET_P99_MS = 100.0
CONFIG = {
    "modules_info": {"lac": {"workers": 1}, "ch_pp-ocrv4": {"workers": 1}},
    "use_multiprocess": True,
}


@dataclass(frozen=True)
class Latencies:
    """One run of lac requests at c=1, in milliseconds."""

    samples_ms: list[float]
    failures: int

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p99_ms(self) -> float:
        return percentile(sorted(self.samples_ms), 0.99)

    def line(self, label: str) -> str:
        return (
            f"{label:<22} p50 {self.p50_ms:6.2f} ms   p99 {self.p99_ms:6.2f} ms   "
            f"max {max(self.samples_ms):7.2f} ms   ({len(self.samples_ms)} requests, {self.failures} failed)"
        )


@dataclass
class OcrLoad:
    """Clients posting 4-image requests to OCR back to back until stopped."""

    url: str
    clients: int
    stop: threading.Event = field(default_factory=threading.Event)
    answered: int = 0
    failed: int = 0
    seconds: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        image = base64.b64encode(IMAGE.read_bytes()).decode()
        body = {"images": [image] * IMAGES_PER_REQUEST}
        self.threads = [threading.Thread(target=self._loop, args=(body,)) for _ in range(self.clients)]
        for thread in self.threads:
            thread.start()

    def _loop(self, body: dict[str, list[str]]) -> None:
        with httpx.Client(base_url=self.url, timeout=300) as client:
            while not self.stop.is_set():
                started = time.monotonic()
                response = client.post("/predict/ch_pp-ocrv4", json=body)
                with self.lock:
                    self.answered += response.status_code == 200
                    self.failed += response.status_code != 200
                    self.seconds.append(time.monotonic() - started)

    def wait_busy(self, timeout_s: float = 120) -> None:
        """Until every client has had an answer: OCR's worker is warm and its queue full."""
        deadline = time.monotonic() + timeout_s
        while len(self.seconds) < self.clients and time.monotonic() < deadline:
            time.sleep(0.1)

    def stop_all(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def measure_lac(url: str, seconds: float) -> Latencies:
    """lac requests back to back, one at a time, for ``seconds``."""
    samples_ms: list[float] = []
    failures = 0
    with httpx.Client(base_url=url, timeout=60) as client:
        for _ in range(20):  # warm the connection and the model
            client.post("/predict/lac", json={"texts": [SENTENCE]})
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = client.post("/predict/lac", json={"texts": [SENTENCE]})
            samples_ms.append((time.perf_counter() - started) * 1000)
            failures += response.status_code != 200
    return Latencies(samples_ms, failures)


@dataclass(frozen=True)
class Result:
    """Both lac runs and the OCR work done during the busy one."""

    idle: Latencies
    busy: Latencies
    ocr: OcrLoad
    ocr_per_s: float
    cores: dict[str, float]  # cores each module's workers kept busy during the busy run
    load_average: float  # the machine's, at the end of the busy run

    @property
    def met(self) -> bool:
        failures = self.idle.failures or self.busy.failures or self.ocr.failed
        return self.busy.p99_ms < TARGET_P99_MS and not failures


def worker_pids(url: str) -> dict[str, list[int]]:
    """Each module's worker pids, from `GET /modules`."""
    modules = httpx.get(f"{url}/modules", timeout=10).json()["modules"]
    return {m["name"]: [w["pid"] for w in m.get("worker_processes", [])] for m in modules}


def cpu_seconds(pids: dict[str, list[int]]) -> dict[str, float]:
    """CPU time (user + system) each module's workers have used so far."""
    used = {}
    for name, numbers in pids.items():
        times = [psutil.Process(pid).cpu_times() for pid in numbers]
        used[name] = sum(t.user + t.system for t in times)
    return used


def measure(seconds: float, ocr_clients: int) -> Result:
    with scratch_home() as home, running_server(home, CONFIG) as server:
        idle = measure_lac(server.url, seconds)
        load = OcrLoad(server.url, ocr_clients)
        load.start()
        try:
            load.wait_busy()
            pids = worker_pids(server.url)
            answered_before, cpu_before, started = load.answered, cpu_seconds(pids), time.monotonic()
            busy = measure_lac(server.url, seconds)
            elapsed_s = time.monotonic() - started
            cpu_after, load_average = cpu_seconds(pids), os.getloadavg()[0]
            ocr_per_s = (load.answered - answered_before) / elapsed_s
        finally:
            load.stop_all()
    cores = {name: (cpu_after[name] - cpu_before[name]) / elapsed_s for name in pids}
    return Result(idle, busy, load, ocr_per_s, cores, load_average)


def report(result: Result) -> str:
    idle, busy, ocr = result.idle, result.busy, result.ocr
    return "\n".join(
        [
            f"lac at c=1, one sentence a request; {IMAGE.name} x{IMAGES_PER_REQUEST} per OCR request",
            idle.line("OCR idle:"),
            busy.line(f"OCR busy ({ocr.clients} clients):"),
            f"p99 busy / idle: {busy.p99_ms / idle.p99_ms:.2f}x   "
            f"p50 busy / idle: {busy.p50_ms / idle.p50_ms:.2f}x",
            f"OCR meanwhile: {result.ocr_per_s:.2f} requests/s "
            f"({result.ocr_per_s * IMAGES_PER_REQUEST:.1f} images/s), "
            f"p50 {statistics.median(ocr.seconds):.2f} s a request, "
            f"{ocr.answered} answered, {ocr.failed} failed",
            "cores used during the busy run: "
            + ", ".join(f"{name} {cores:.2f}" for name, cores in result.cores.items())
            + f" (this machine has {psutil.cpu_count()}; the load average was {result.load_average:.1f})",
            f"target: busy p99 under {TARGET_P99_MS:g} ms: {'met' if result.met else 'NOT MET'}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20, help="seconds of lac per run (default 20)")
    parser.add_argument("--ocr-clients", type=int, default=3, help="OCR clients (default 3)")
    args = parser.parse_args(argv)
    result = measure(args.seconds, args.ocr_clients)
    print(report(result))
    return 0 if result.met else 1


if __name__ == "__main__":
    sys.exit(main())
