"""Benchmark: what Ray mode costs per request against local mode, by ingress; writes bench/RAY.md.

    python bench/ray_bench.py                 # about 3 minutes; as root (it runs in a network namespace)
    python bench/ray_bench.py --duration 3    # quicker, noisier

Three servers of the same two modules (the echo test module: the serving stack alone; lac: a real
model), each driven by Debian's ``wrk`` over loopback at concurrency 1 and 16:

- local: ``hub serving start`` with one worker process per module;
- Ray, hubserving's front: ``hub serving start --ray`` (uvicorn and hubserving's routes in the
  server process, calling each module's Serve deployment handle);
- Ray Serve's proxy: the ``hubserving.ray.ingress`` application (Serve's HTTP proxy, an ingress
  replica running hubserving's ASGI app, then the module's replica), as a RayService runs it.

The Ray servers share one single-node ``ray.cluster_utils.Cluster``. Server CPU per request is the
CPU time of every process the benchmark started (servers, Ray's daemons, replicas), wrk excluded,
over the requests answered. It runs inside ``unshare -n`` (only loopback) so that Ray uses 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from loadgen import free_port, parse_wrk, wrk_script

ROOT = Path(__file__).resolve().parent.parent
ECHO = ROOT / "tests" / "fixtures" / "modules" / "echo"
MARK = "HUB_RAY_BENCH"
BODIES = {"echo": {"texts": ["今天是个好日子"]}, "lac": {"text": ["今天是个好日子"]}}
CONNECTIONS = (1, 16)


@dataclass(frozen=True)
class Cell:
    server: str
    module: str
    connections: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: float
    errors: int


def marked_cpu_s() -> dict[tuple[int, float], float]:
    """CPU seconds of every process this benchmark started (it carries the mark), by (pid, start)."""
    used: dict[tuple[int, float], float] = {}
    for process in psutil.process_iter():
        try:
            if process.pid == os.getpid() or process.environ().get(MARK) is None:
                continue
            times = process.cpu_times()
            used[(process.pid, process.create_time())] = times.user + times.system
        except psutil.Error:
            continue
    return used


def drive(name: str, url: str, module: str, connections: int, duration_s: int, folder: Path) -> Cell:
    script = wrk_script(BODIES[module], folder / f"{module}.lua")
    environment = {key: value for key, value in os.environ.items() if key != MARK}
    before = marked_cpu_s()
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration_s}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    ).stdout
    after = marked_cpu_s()
    used = sum(value - before.get(key, 0.0) for key, value in after.items())
    rate, p50, p99, total, errors = parse_wrk(output)
    return Cell(name, module, connections, rate, p50, p99, 1000 * used / max(total, 1), errors)


def wait_answering(url: str, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if all(
                httpx.post(f"{url}/predict/{module}", json=body, timeout=10).status_code == 200
                for module, body in BODIES.items()
            ):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s} s")


def modules_config(cpus_per_replica: float | None) -> dict[str, Any]:
    resources = {} if cpus_per_replica is None else {"resources": {"num_cpus": cpus_per_replica}}
    return {"lac": {**resources}, "echo": {"init_args": {"directory": str(ECHO)}, **resources}}


class HubServer:
    """``hub serving start -c config.json`` in a subprocess."""

    def __init__(self, config: dict[str, Any], home: Path) -> None:
        self.port = int(config["port"])
        self.url = f"http://127.0.0.1:{self.port}"
        path = home / f"config_{self.port}.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hubserving", "serving", "start", "-c", str(path)],
            env={**os.environ, "HUB_HOME": str(home)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_answering(self.url)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=90)


def measure(name: str, url: str, duration_s: int, folder: Path) -> list[Cell]:
    cells = []
    for module in BODIES:
        for connections in CONNECTIONS:
            cell = drive(name, f"{url}/predict/{module}", module, connections, duration_s, folder)
            print(f"  {cell}", file=sys.stderr, flush=True)
            cells.append(cell)
    return cells


def run(duration_s: int) -> list[Cell]:
    import ray
    from ray import serve
    from ray.cluster_utils import Cluster

    from hubserving.ray.ingress import build

    cells: list[Cell] = []
    base = {"host": "127.0.0.1", "timeout": 60}
    with tempfile.TemporaryDirectory(prefix="hub-ray-bench-") as name:
        folder = Path(name)
        print("local", file=sys.stderr, flush=True)
        local = HubServer({**base, "port": free_port(), "modules_info": modules_config(None)}, folder)
        try:
            cells += measure("local, a worker per module", local.url, duration_s, folder)
        finally:
            local.stop()
        cluster = Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": 4, "include_dashboard": False, "object_store_memory": 100 << 20},
        )
        try:
            ray.init(address=cluster.address, log_to_driver=False)
            proxy_port = free_port()
            serve.start(proxy_location="HeadOnly", http_options={"host": "127.0.0.1", "port": proxy_port})
            print("Ray, hubserving's front", file=sys.stderr, flush=True)
            ray_config = {"address": cluster.address, "namespace": "bench"}
            front = HubServer(
                {**base, "port": free_port(), "modules_info": modules_config(1), "ray": ray_config}, folder
            )
            try:
                cells += measure("Ray, hubserving's front -> handles", front.url, duration_s, folder)
            finally:
                front.stop()
            print("Ray Serve's proxy", file=sys.stderr, flush=True)
            config = {**base, "port": 8866, "modules_info": modules_config(1)}
            serve.run(build({"config": config}), name="bench-proxy", route_prefix="/")
            url = f"http://127.0.0.1:{proxy_port}"
            wait_answering(url)
            cells += measure("Ray Serve's proxy -> ingress replica -> handles", url, duration_s, folder)
            serve.delete("bench-proxy")
            serve.shutdown()
        finally:
            ray.shutdown()
            cluster.shutdown()
    return cells


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores ({cpu}), {platform.machine()}, Python {platform.python_version()}"


def report(cells: list[Cell], duration_s: int) -> str:
    import ray

    def cell(server: str, module: str, connections: int) -> Cell:
        return next(
            c
            for c in cells
            if c.server.startswith(server) and c.module == module and c.connections == connections
        )

    lines = [
        "# Ray mode: the cost per request, by ingress",
        "",
        f"- Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}; Ray {ray.__version__}",
        f"- Command: `python bench/ray_bench.py --duration {duration_s}` (in `unshare -n`: loopback only)",
        "- Load: Debian's `wrk`, 1 thread, sharing the cores with the servers and Ray; one-sentence bodies.",
        "- Server CPU: every process the benchmark started (server, Ray daemons, replicas), wrk excluded.",
        "",
        "| server | module | connections | req/s | p50 ms | p99 ms | server CPU ms/request | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        lines.append(
            f"| {c.server} | {c.module} | {c.connections} | {c.requests_per_s:,.0f} | {c.p50_ms:.2f} | "
            f"{c.p99_ms:.2f} | {c.cpu_ms_per_request:.3f} | {c.errors} |"
        )
    lines += ["", "## Ratios from this run", ""]
    for module in BODIES:
        local, front, proxy = (cell(s, module, 16) for s in ("local", "Ray, hub", "Ray Serve"))
        lines.append(
            f"- {module}, 16 connections: CPU per request local {local.cpu_ms_per_request:.3f} ms, "
            f"Ray with hubserving's front {front.cpu_ms_per_request:.3f} ms "
            f"({front.cpu_ms_per_request / local.cpu_ms_per_request:.1f}x), "
            f"through Serve's proxy {proxy.cpu_ms_per_request:.3f} ms "
            f"({proxy.cpu_ms_per_request / local.cpu_ms_per_request:.1f}x); req/s "
            f"{local.requests_per_s:,.0f} / {front.requests_per_s:,.0f} / {proxy.requests_per_s:,.0f}."
        )
        one = [cell(s, module, 1) for s in ("local", "Ray, hub", "Ray Serve")]
        lines.append(
            f"- {module}, 1 connection, p50: "
            + " / ".join(f"{c.p50_ms:.2f} ms" for c in one)
            + " (same order)."
        )
    front_cost = cell("Ray, hub", "echo", 16).cpu_ms_per_request
    proxy_cost = cell("Ray Serve", "echo", 16).cpu_ms_per_request
    chosen = "hubserving's own front" if front_cost <= proxy_cost else "Ray Serve's proxy"
    lines += [
        "",
        f"Choice: `hub serving start --ray` uses {chosen} (echo at 16 connections: {front_cost:.3f} vs "
        f"{proxy_cost:.3f} ms of CPU per request). A KubeRay RayService needs Serve's proxy (its Service",
        "points at it), so `deploy/kubernetes/rayservice.yaml` runs the `hubserving.ray.ingress` app.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds of load per cell")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RAY.md")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("needs Debian's wrk: apt-get install wrk")
    if os.environ.get(MARK) is None:  # start again inside a network namespace holding only loopback
        inner = f"ip link set lo up && exec {sys.executable} {Path(__file__).resolve()} " + " ".join(
            sys.argv[1:]
        )
        environment = {**os.environ, MARK: uuid.uuid4().hex}
        sys.exit(subprocess.run(["unshare", "-n", "bash", "-c", inner], env=environment).returncode)
    cells = run(args.duration)
    args.out.write_text(report(cells, args.duration), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
