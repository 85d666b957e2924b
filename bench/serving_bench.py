"""Benchmark: hubserving against PaddleHub Serving 2.4.0 and the same lac model in-process, in one run.

    python bench/serving_bench.py                  # about 6 minutes; writes bench/RESULTS.md
    python bench/serving_bench.py --rounds 1 --duration 3 --out /tmp/quick.md   # quicker, noisier

Needs Debian's `wrk` (apt-get install wrk) and the lac extra. PaddleHub `--use_multiprocess` is the
reference column: it is started from the harness that `../shared/peer/setup.sh` builds (in
`$PEER_DIR`, default `$TMPDIR/peer-bench`), as `../shared/peer/README.md` says; without it the
benchmark says so and runs the other columns.

Both servers run side by side and take turns: every round drives each cell (one-sentence requests at
c=1 and c=64, eight-sentence requests at c=64) on one server, then on the other, the order flipping
from round to round, so a change in the machine's load falls on both. Each figure is the median of
the rounds; each ratio is the median of the rounds' ratios. Reported per cell: req/s, p50/p99,
server CPU per request (the whole process tree, from /proc) and the load average; per server:
memory (PSS, which counts pages shared by forked workers once). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from loadgen import free_port, parse_wrk, wrk_script

from hubserving.runtime.threads import worker_environment

ROOT = Path(__file__).resolve().parent.parent
LAC_DIR = ROOT / "src" / "hubserving" / "modules" / "lac"
PEER_SOURCE = ROOT.parent / "shared" / "peer"
ONE = ["今天是个好日子"]
# The eight sentences of ../shared/peer/body8.json; "batch_size": 8 makes them one model call on
# PaddleHub too (its lac runs a request's texts in chunks of batch_size).
EIGHT = [
    "今天是个好日子",
    "天气预报说今天要下雨",
    "百度是一家高科技公司",
    "我爱北京天安门",
    "LAC是个优秀的分词工具",
    "春天的花开秋天的风以及冬天的落阳",
    "中华人民共和国成立于1949年10月1日",
    "这家餐厅的服务态度非常好，菜也很好吃",
]
BODIES = {1: {"text": ONE, "batch_size": 1}, 8: {"text": EIGHT, "batch_size": 8}}
CELLS = ((1, 1), (1, 64), (8, 64))  # (sentences a request, connections)
HUB = "hubserving"
PADDLEHUB = "PaddleHub"
NOTES = "<!-- Notes below this line are kept when the benchmark rewrites the file. -->"


@dataclass(frozen=True)
class Run:
    """One wrk run against one server."""

    server: str
    sentences: int
    connections: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: float
    errors: int
    load_average: float


@dataclass
class Server:
    """A server process group: how to reach it, its processes, its memory."""

    name: str
    command: str
    process: subprocess.Popen[bytes]
    url: str
    start_s: float = 0.0
    pss_mb: list[float] = field(default_factory=list)

    def processes(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def cpu_s(self) -> float:
        total = 0.0
        for process in self.processes():
            try:
                times = process.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
            except psutil.Error:
                pass
        return total

    def measure_pss(self) -> None:
        self.pss_mb = []
        for process in self.processes():
            with contextlib.suppress(psutil.Error):
                self.pss_mb.append(process.memory_full_info().pss / 2**20)

    def stop(self) -> None:
        """SIGTERM to the whole process group (gunicorn's workers included), then SIGKILL."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=30)
                time.sleep(0.5)  # let the group's other processes go too
            except subprocess.TimeoutExpired:
                continue


def start(name: str, command: list[str], env: dict[str, str], cwd: Path, port: int) -> Server:
    """Start a server in its own process group and wait for its first correct answer."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    server = Server(name, " ".join(command), process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} while starting")
        try:
            if httpx.post(f"{server.url}/predict/lac", json=BODIES[1], timeout=5).status_code == 200:
                server.start_s = time.perf_counter() - started
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} did not answer within 180 s")


def start_hubserving(home: Path) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "hubserving", "serving", "start", "-m", "lac", "-p", str(port)]
    return start(HUB, [*command, "--use_multiprocess"], {"HUB_HOME": str(home)}, ROOT, port)


def peer_dir() -> Path:
    return Path(os.environ.get("PEER_DIR") or Path(os.environ.get("TMPDIR") or "/tmp") / "peer-bench")


def start_paddlehub() -> Server | str:
    """PaddleHub 2.4.0 ``--use_multiprocess`` from the peer harness, or why it cannot run."""
    built = peer_dir()
    if not PEER_SOURCE.is_dir():
        return f"{PEER_SOURCE} is absent: PaddleHub was not run"
    if not (built / "venv_hub" / "bin" / "hub").exists():
        return f"the peer harness is not built in {built}: run {PEER_SOURCE}/setup.sh (about 2 minutes)"
    port = free_port()
    env = {
        "HUB_HOME": str(built / "hub_home"),
        "PEER_COMMON": str(built / "common"),
        "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python",
        "PYTHONWARNINGS": "ignore",
    }
    command = ["venv_hub/bin/hub", "serving", "start", "-m", "lac", "-p", str(port), "--use_multiprocess"]
    return start(PADDLEHUB, command, env, built, port)


def drive(server: Server, script: Path, sentences: int, connections: int, duration_s: int) -> Run:
    load = os.getloadavg()[0]
    before = server.cpu_s()
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration_s}s", "--timeout", "10s", "--latency"]
    output = subprocess.run(
        [*command, "-s", str(script), f"{server.url}/predict/lac"], capture_output=True, text=True, check=True
    ).stdout
    used_s = server.cpu_s() - before
    rate, p50, p99, total, errors = parse_wrk(output)
    cpu_ms = 1000 * used_s / max(total, 1)
    return Run(server.name, sentences, connections, rate, p50, p99, cpu_ms, errors, load)


def same_answers(servers: Sequence[Server]) -> bool:
    """Every server gives the same parsed envelope for both bodies."""
    for body in BODIES.values():
        answers = [httpx.post(f"{s.url}/predict/lac", json=body, timeout=10).json() for s in servers]
        if any(answer != answers[0] for answer in answers):
            return False
    return True


def in_process_baseline(duration_s: float) -> dict[str, float]:
    """The lac module called directly, one thread: the cost the serving stack adds to."""
    script = f"""
import json, resource, sys, time
sys.path.insert(0, {str(ROOT / "src")!r})
from hubserving.module.loader import load_module
from pathlib import Path
lac = load_module(Path({str(LAC_DIR)!r}), {{}}).method
one, eight = {ONE!r}, {EIGHT!r}
def rate(texts, seconds):
    lac(texts=texts)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        lac(texts=texts); count += 1
    return count * len(texts) / (time.perf_counter() - start)
batch1 = rate(one, {duration_s})
batch8 = rate(eight, {duration_s})
batch32 = rate(one * 32, {duration_s})
mixed32 = rate(eight * 4, {duration_s})
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"batch1_per_s": batch1, "batch8_per_s": batch8, "batch32_per_s": batch32,
                  "mixed32_per_s": mixed32, "rss_mb": rss}}))
"""
    env = worker_environment(os.environ, None)  # as a worker has it: one math thread, MKL's CPU path
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    return dict(json.loads(output.stdout.strip().splitlines()[-1]))


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), {platform.machine()}, Python {platform.python_version()}"


def median_of(runs: list[Run], value: Callable[[Run], float]) -> float:
    return statistics.median(value(run) for run in runs) if runs else float("nan")


def runs_of(runs: list[Run], server: str, sentences: int, connections: int) -> list[Run]:
    return [r for r in runs if (r.server, r.sentences, r.connections) == (server, sentences, connections)]


def paired_ratios(
    runs: list[Run], sentences: int, connections: int, value: Callable[[Run], float]
) -> list[float]:
    """hubserving / PaddleHub, round by round."""
    ours = runs_of(runs, HUB, sentences, connections)
    theirs = runs_of(runs, PADDLEHUB, sentences, connections)
    return [value(a) / value(b) for a, b in zip(ours, theirs, strict=False) if value(b) > 0]


def cell_table(runs: list[Run], servers: Sequence[str]) -> list[str]:
    lines = [
        "| server | sentences/request | connections | req/s | p50 ms | p99 ms | server CPU ms/request "
        "| errors | load average |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for sentences, connections in CELLS:
        for server in servers:
            cell = runs_of(runs, server, sentences, connections)
            if not cell:
                continue
            loads = [r.load_average for r in cell]
            rate = median_of(cell, lambda r: r.requests_per_s)
            lines.append(
                f"| {server} | {sentences} | {connections} | {rate:,.0f} | "
                f"{median_of(cell, lambda r: r.p50_ms):.2f} | {median_of(cell, lambda r: r.p99_ms):.2f} | "
                f"{median_of(cell, lambda r: r.cpu_ms_per_request):.3f} | {sum(r.errors for r in cell)} | "
                f"{min(loads):.1f}-{max(loads):.1f} |"
            )
    return lines


def ratio_lines(runs: list[Run]) -> list[str]:
    def shown(ratios: list[float]) -> str:
        each = ", ".join(f"{ratio:.2f}" for ratio in ratios)
        return f"**{statistics.median(ratios):.2f}x** (rounds: {each})" if ratios else "not measured"

    def rate(run: Run) -> float:
        return run.requests_per_s

    def p50(run: Run) -> float:
        return run.p50_ms

    return [
        f"- One sentence, c=64, requests/s: {shown(paired_ratios(runs, 1, 64, rate))} PaddleHub's "
        "(target at least 5x).",
        f"- Eight sentences, c=64, requests/s: {shown(paired_ratios(runs, 8, 64, rate))} PaddleHub's "
        "(target at least 3x).",
        f"- One sentence, c=1, p50 latency: {shown(paired_ratios(runs, 1, 1, p50))} PaddleHub's "
        "(target at most 0.5x).",
    ]


def report(
    baseline: dict[str, float],
    runs: list[Run],
    servers: list[Server],
    peer_note: str | None,
    command: str,
    rounds: int,
    duration_s: int,
) -> str:
    names = [server.name for server in servers]
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        f"- Command: `{command}`",
        f"- Load: Debian's `wrk`, 1 thread, sharing the machine's cores with the servers; loopback; "
        f"{duration_s} s a cell; {rounds} rounds, the servers taking turns (medians shown).",
        "- Bodies: `../shared/peer/body1.json` and `body8.json` (`batch_size` 1 and 8: one model call a "
        "request on either server).",
        "",
        "## The same lac model in-process, one thread",
        "",
        "| batch | sentences/s | ms per sentence |",
        "|---|---|---|",
    ]
    for label, key in (
        ("1", "batch1_per_s"),
        ("8 (the eight sentences)", "batch8_per_s"),
        ("32 (one sentence 32 times)", "batch32_per_s"),
        ("32 (the eight sentences 4 times)", "mixed32_per_s"),
    ):
        lines.append(f"| {label} | {baseline[key]:,.0f} | {1000 / baseline[key]:.3f} |")
    lines += ["", f"Peak RSS of that process: {baseline['rss_mb']:.0f} MB.", "", "## Servers", ""]
    lines += [f"- {server.name}: `{server.command}`" for server in servers]
    if peer_note:
        lines.append(f"- {PADDLEHUB}: not run ({peer_note}).")
    lines += ["", *cell_table(runs, names), ""]
    lines += [
        "| server | start to first answer | PSS per process MB | total PSS MB |",
        "|---|---|---|---|",
    ]
    for server in servers:
        per_process = ", ".join(f"{value:.0f}" for value in server.pss_mb)
        lines.append(f"| {server.name} | {server.start_s:.1f} s | {per_process} | {sum(server.pss_mb):.0f} |")
    lines += ["", "## Ratios from this run (hubserving / PaddleHub, median of the rounds)", ""]
    lines += ratio_lines(runs) if not peer_note else [f"- Not measured: {peer_note}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run (default 8)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="turns of every cell on each server (default 3)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench needs Debian's wrk: apt-get install wrk")
    command = " ".join(["python bench/serving_bench.py", *sys.argv[1:]])
    print("baseline: lac in-process ...", flush=True)
    baseline = in_process_baseline(min(args.duration, 5))
    servers: list[Server] = []
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as folder:
        try:
            servers.append(start_hubserving(Path(folder) / "home"))
            peer = start_paddlehub()
            peer_note = peer if isinstance(peer, str) else None
            if isinstance(peer, Server):
                servers.append(peer)
            else:
                print(f"PaddleHub: {peer}", flush=True)
            print(f"same answers on every server: {same_answers(servers)}", flush=True)
            scripts = {n: wrk_script(body, Path(folder) / f"post_{n}.lua") for n, body in BODIES.items()}
            for server in servers:  # warm-up
                drive(server, scripts[1], 1, 8, 2)
            for turn in range(args.rounds):
                for sentences, connections in CELLS:
                    for server in servers if turn % 2 == 0 else servers[::-1]:
                        run = drive(server, scripts[sentences], sentences, connections, args.duration)
                        print(run, flush=True)
                        runs.append(run)
            for server in servers:
                server.measure_pss()
        finally:
            for server in servers:
                server.stop()
    text = report(baseline, runs, servers, peer_note, command, args.rounds, args.duration)
    args.out.write_text(text + kept_notes(args.out), encoding="utf-8")
    print(text)


def kept_notes(path: Path) -> str:
    """What follows the notes line of the file being replaced (the analysis written by hand)."""
    previous = path.read_text(encoding="utf-8") if path.exists() else ""
    start = previous.find(NOTES)
    return "\n" + previous[start:] if start >= 0 else ""


if __name__ == "__main__":
    main()
