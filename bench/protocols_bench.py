"""Benchmark: lac at concurrency 64 over /predict JSON, V2 HTTP binary tensors and V2 gRPC, in one run.

    python bench/protocols_bench.py                  # about a minute; writes bench/PROTOCOLS.md
    python bench/protocols_bench.py --duration 5     # quicker, noisier

Starts `hub serving start -m lac --grpc-port G` (single process) in a temporary HUB_HOME on free ports
of 127.0.0.1, checks that the three protocols give the same words for the same sentence, then drives
each for `--duration` seconds with 64 requests in flight (one sentence each) from one asyncio client
process (uvloop when installed; aiohttp for HTTP, grpcio for gRPC). Reports requests/s, p50/p99 and the
server's CPU per request: user+system time of the front and its worker (psutil) over the run, divided
by the requests answered. The client shares the machine's cores. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import httpx
import psutil
from loadgen import free_port

from hubserving.v2.generated import open_inference_grpc_pb2 as pb
from hubserving.v2.generated.open_inference_grpc_pb2_grpc import GRPCInferenceServiceStub
from hubserving.v2.tensors import join_bytes, split_bytes

ROOT = Path(__file__).resolve().parent.parent
SENTENCE = "今天是个好日子"
CONCURRENCY = 64
Call = Callable[[], Awaitable[list[Any]]]  # one request; returns lac's results for the sentence


@dataclass(frozen=True)
class Row:
    protocol: str
    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: float
    front_cpu_ms_per_request: float  # the HTTP/gRPC front alone
    mean_batch: float  # requests per model call, from the server's hub_batch_size histogram


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


class Server:
    """`hub serving start -m lac --grpc-port G` in a subprocess."""

    def __init__(self, home: Path) -> None:
        self.port, self.grpc_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "hubserving", "serving", "start", "-m", "lac", "-p", str(self.port)]
        command += ["--host", "127.0.0.1", "--grpc-port", str(self.grpc_port)]
        env = {**os.environ, "HUB_HOME": str(home)}
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._wait_ready()
        server = psutil.Process(self.process.pid)
        self.processes = [server, *server.children(recursive=True)]

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/ready", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the server was not ready within 120 s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def predict_call(client: aiohttp.ClientSession) -> Call:
    body = json.dumps({"texts": [SENTENCE]}).encode()
    headers = {"Content-Type": "application/json"}

    async def call() -> list[Any]:
        async with client.post("/predict/lac", data=body, headers=headers) as answer:
            answer.raise_for_status()
            return list(json.loads(await answer.read())["results"])

    return call


def v2_binary_call(client: aiohttp.ClientSession) -> Call:
    raw = join_bytes([SENTENCE.encode()])
    texts = {"name": "texts", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": len(raw)}}
    results = {"name": "results", "parameters": {"binary_data": True}}
    header = json.dumps({"inputs": [texts], "outputs": [results]}).encode()
    headers = {
        "Inference-Header-Content-Length": str(len(header)),
        "Content-Type": "application/octet-stream",
    }

    async def call() -> list[Any]:
        async with client.post("/v2/models/lac/infer", data=header + raw, headers=headers) as answer:
            answer.raise_for_status()
            length = int(answer.headers["inference-header-content-length"])
            content = await answer.read()
        return [json.loads(document) for document in split_bytes("results", content[length:])]

    return call


def grpc_call(stub: GRPCInferenceServiceStub) -> Call:
    request = pb.ModelInferRequest(model_name="lac", raw_input_contents=[join_bytes([SENTENCE.encode()])])
    request.inputs.add(name="texts", datatype="BYTES", shape=[1])

    async def call() -> list[Any]:
        response = await stub.ModelInfer(request)
        return [json.loads(document) for document in split_bytes("results", response.raw_output_contents[0])]

    return call


async def drive(call: Call, duration_s: float) -> list[float]:
    """Latencies (s) of every request answered in ``duration_s`` with CONCURRENCY in flight."""
    latencies: list[float] = []
    deadline = time.perf_counter() + duration_s

    async def loop() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(loop() for _ in range(CONCURRENCY)))
    return latencies


def batch_totals(server: Server) -> tuple[float, float]:
    """(requests, model calls) of lac so far, read off ``/metrics``."""
    values = {}
    for line in httpx.get(f"{server.url}/metrics", timeout=10).text.splitlines():
        if line.startswith(("hub_batch_size_sum{", "hub_batch_size_count{")) and 'module="lac"' in line:
            values[line.split("{", 1)[0]] = float(line.rsplit(" ", 1)[1])
    return values.get("hub_batch_size_sum", 0.0), values.get("hub_batch_size_count", 0.0)


async def measure(name: str, call: Call, server: Server, duration_s: float) -> Row:
    await drive(call, min(2.0, duration_s))  # warm up connections and the model
    front = server.processes[:1]
    batched = batch_totals(server)
    before, front_before = cpu_seconds(server.processes), cpu_seconds(front)
    started = time.perf_counter()
    latencies = await drive(call, duration_s)
    elapsed = time.perf_counter() - started
    cpu, front_cpu = cpu_seconds(server.processes) - before, cpu_seconds(front) - front_before
    requests, calls = (after - earlier for after, earlier in zip(batch_totals(server), batched, strict=True))
    ordered = sorted(latencies)
    return Row(
        name,
        len(latencies),
        len(latencies) / elapsed,
        statistics.median(ordered) * 1000,
        ordered[int(len(ordered) * 0.99) - 1] * 1000,
        cpu / len(latencies) * 1000,
        front_cpu / len(latencies) * 1000,
        requests / calls if calls else 0.0,
    )


async def run(server: Server, duration_s: float) -> list[Row]:
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with (
        aiohttp.ClientSession(server.url, connector=connector) as client,
        grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel,
    ):
        calls = {
            "/predict JSON": predict_call(client),
            "V2 HTTP, binary tensors": v2_binary_call(client),
            "V2 gRPC": grpc_call(GRPCInferenceServiceStub(channel)),
        }
        answers = [await call() for call in calls.values()]
        if any(answer != answers[0] for answer in answers):
            raise RuntimeError(f"the protocols disagree: {answers}")
        return [await measure(name, call, server, duration_s) for name, call in calls.items()]


def report(rows: list[Row], duration_s: float, load: tuple[float, float]) -> str:
    machine = platform.processor() or platform.machine()
    lines = [
        "# lac over three protocols",
        "",
        f"`python bench/protocols_bench.py --duration {duration_s:g}`, {datetime.date.today()}, {machine}, "
        f"{os.cpu_count()} cores shared by the server and the client; load average {load[0]:.1f} before the "
        f"run, {load[1]:.1f} after (above 1 or 2, other processes competed for the cores: req/s and "
        "latencies suffer first, CPU per request is the steadier figure).",
        "",
        "One server (`hub serving start -m lac --grpc-port G`, single process), one sentence per request, "
        f"{CONCURRENCY} requests in flight from one asyncio client process; {duration_s:g} s per protocol "
        "after a 2 s warm-up. Server CPU: user+system time of the front and its worker over the run, "
        "per request answered (front: of the HTTP/gRPC front alone); mean batch: requests per lac call.",
        "",
        "| protocol | requests | req/s | p50 ms | p99 ms | server CPU ms/request | front | mean batch |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.protocol} | {r.requests} | {r.requests_per_s:.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
        f"{r.cpu_ms_per_request:.2f} | {r.front_cpu_ms_per_request:.2f} | {r.mean_batch:.1f} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per protocol (default 15)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "PROTOCOLS.md")
    arguments = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="hubserving-protocols-"))
    load_before = os.getloadavg()[0]
    server = Server(home)
    try:
        try:
            import uvloop

            runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
        except ImportError:
            runner = asyncio.Runner()
        with runner:
            rows = runner.run(run(server, arguments.duration))
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    text = report(rows, arguments.duration, (load_before, os.getloadavg()[0]))
    arguments.output.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
