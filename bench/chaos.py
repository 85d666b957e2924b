"""Chaos soak: worker processes die under load, and no request is lost or answered wrongly.

    python bench/chaos.py --duration 120 --workers 2        # the full soak
    python bench/chaos.py --duration 20                      # a quick look

Starts `hub serving start -m echo --use_multiprocess --workers N --timeout T` (the test module, in a
temporary HUB_HOME, on a free port of 127.0.0.1), drives it with `--clients` threads that each post
`{"texts": [<unique id>]}` for `--duration` seconds, and meanwhile SIGKILLs a random worker every
`--kill-every` seconds and now and then posts `"crash": true` (the worker exits) or a `"sleep_s"` past
the timeout. Every request must be answered (a killed worker's requests get 503/"119", a slow one
504/"118"); a 200 must echo its own id. Exits 1 when a request was lost or answered with another's
result, or when the server is not ready again at the end. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
TEST_MODULES = ROOT / "tests" / "fixtures" / "modules"
READY_TIMEOUT_S = 120.0
STOP_GRACE_S = 15.0
OUTAGE_GAP_S = 0.25  # no correct answer for this long, with 16 busy clients: no worker could serve


@dataclass(frozen=True)
class Settings:
    """One soak, from the command line."""

    duration_s: float
    workers: int
    clients: int
    timeout_s: float
    kill_every_s: float
    special_every_s: float
    seed: int

    @property
    def client_timeout_s(self) -> float:
        """Long past anything the server may take: waiting longer than this counts as lost."""
        return 2 * self.timeout_s + 10


@dataclass
class KindCounts:
    """What happened to the requests of one kind."""

    sent: int = 0
    answered: int = 0
    correct: int = 0
    wrong: int = 0
    lost: int = 0


@dataclass
class Tally:
    """Every request's outcome, shared by the client threads."""

    kinds: dict[str, KindCounts] = field(default_factory=dict)
    statuses: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    lost_reasons: Counter[str] = field(default_factory=Counter)
    wrong_examples: list[str] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    kills: int = 0
    last_success_s: float = field(default_factory=time.monotonic)
    longest_gap_s: float = 0.0
    outage_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def counts(self, kind: str) -> KindCounts:
        return self.kinds.setdefault(kind, KindCounts())


@dataclass(frozen=True)
class Outcome:
    """One request's answer, or why there was none."""

    kind: str
    http_status: int | None
    envelope_status: str
    correct: bool
    latency_s: float
    detail: str = ""


def record(tally: Tally, outcome: Outcome) -> None:
    with tally.lock:
        counts = tally.counts(outcome.kind)
        counts.sent += 1
        if outcome.http_status is None:
            counts.lost += 1
            tally.lost_reasons[outcome.detail] += 1
            return
        counts.answered += 1
        tally.statuses[(outcome.kind, outcome.http_status, outcome.envelope_status)] += 1
        if outcome.kind == "echo":
            tally.latencies_s.append(outcome.latency_s)
        if outcome.http_status == 200 and outcome.correct:
            counts.correct += 1
            now = time.monotonic()
            gap_s = now - tally.last_success_s
            tally.longest_gap_s = max(tally.longest_gap_s, gap_s)
            tally.outage_s += gap_s if gap_s > OUTAGE_GAP_S else 0.0
            tally.last_success_s = now
        elif outcome.http_status == 200:
            counts.wrong += 1
            if len(tally.wrong_examples) < 5:
                tally.wrong_examples.append(outcome.detail)


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """`hub serving start` in a subprocess, its output in a log file; `stop()` ends the whole tree."""

    def __init__(self, settings: Settings, home: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "server.log"
        command = [
            *(sys.executable, "-m", "hubserving", "serving", "start", "-m", "echo"),
            *("--host", "127.0.0.1", "-p", str(self.port), "--timeout", f"{settings.timeout_s:g}"),
            *("--use_multiprocess", "--workers", str(settings.workers)),
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, env={**os.environ, "HUB_HOME": str(home)}, stdout=log, stderr=subprocess.STDOUT
            )

    def workers(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.NoSuchProcess):
            return psutil.Process(self.process.pid).children()
        return []

    def wait_ready(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/ready", timeout=5).status_code == 200:
                    return True
            time.sleep(0.1)
        return False

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

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
def running_server(settings: Settings) -> Iterator[Server]:
    """A ready server in a temporary HUB_HOME; always stopped, its home always removed."""
    home = Path(tempfile.mkdtemp(prefix="hubserving-chaos-"))
    try:
        shutil.copytree(TEST_MODULES, home / "modules")
        server = Server(settings, home)
        try:
            if not server.wait_ready(READY_TIMEOUT_S):
                raise RuntimeError(f"the server did not become ready:\n{server.log_tail()}")
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(home, ignore_errors=True)


# --- the load --------------------------------------------------------------------------------


def post(client: httpx.Client, kind: str, body: dict[str, Any], expected_text: str) -> Outcome:
    """One request, classified: answered (and correct?) or lost."""
    started = time.monotonic()
    try:
        response = client.post("/predict/echo", json=body)
    except httpx.TransportError as error:
        return Outcome(kind, None, "", False, time.monotonic() - started, type(error).__name__)
    elapsed_s = time.monotonic() - started
    try:
        envelope = response.json()
    except ValueError:
        return Outcome(kind, response.status_code, "not JSON", False, elapsed_s, response.text[:200])
    results = envelope.get("results")
    correct = isinstance(results, list) and [r.get("text") for r in results] == [expected_text]
    detail = f"sent {expected_text!r}, got {response.text[:200]}"
    return Outcome(kind, response.status_code, str(envelope.get("status")), correct, elapsed_s, detail)


def client_loop(server: Server, settings: Settings, tally: Tally, index: int, stop: threading.Event) -> None:
    """Post unique ids back to back until told to stop."""
    with httpx.Client(base_url=server.url, timeout=settings.client_timeout_s) as client:
        for sequence in itertools.count():
            if stop.is_set():
                return
            text = f"client{index}-{sequence}"
            record(tally, post(client, "echo", {"texts": [text]}, text))


def special_request(server: Server, settings: Settings, tally: Tally, kind: str, number: int) -> None:
    """A request that crashes its worker, or sleeps past the server's timeout."""
    text = f"{kind}-{number}"
    extra: dict[str, Any] = {"crash": True} if kind == "crash" else {"sleep_s": settings.timeout_s + 1}
    with httpx.Client(base_url=server.url, timeout=settings.client_timeout_s) as client:
        record(tally, post(client, kind, {"texts": [text], **extra}, text))


def kill_a_worker(server: Server, tally: Tally, rng: random.Random) -> None:
    workers = server.workers()
    if workers:
        with contextlib.suppress(psutil.NoSuchProcess):
            rng.choice(workers).send_signal(signal.SIGKILL)
            with tally.lock:
                tally.kills += 1


def chaos_loop(server: Server, settings: Settings, tally: Tally, stop: threading.Event) -> None:
    """SIGKILL a worker every ``kill_every_s``; a crash or slow request every ``special_every_s``."""
    rng = random.Random(settings.seed)
    next_kill = next_special = time.monotonic() + 1
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="special") as pool:
        for number in itertools.count():
            if stop.wait(0.05):
                return
            now = time.monotonic()
            if now >= next_kill:
                kill_a_worker(server, tally, rng)
                next_kill = now + settings.kill_every_s * rng.uniform(0.5, 1.5)
            if now >= next_special:
                kind = rng.choice(["crash", "sleep"])
                pool.submit(special_request, server, settings, tally, kind, number)
                next_special = now + settings.special_every_s * rng.uniform(0.5, 1.5)


def soak(server: Server, settings: Settings) -> Tally:
    """Run the clients and the chaos for the duration; return once every request has its outcome."""
    tally = Tally()
    stop = threading.Event()
    threads = [
        threading.Thread(target=client_loop, args=(server, settings, tally, index, stop))
        for index in range(settings.clients)
    ]
    threads.append(threading.Thread(target=chaos_loop, args=(server, settings, tally, stop)))
    for thread in threads:
        thread.start()
    try:
        stop.wait(settings.duration_s)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return tally


# --- the report ------------------------------------------------------------------------------


def report(tally: Tally, settings: Settings, elapsed_s: float, ready_after: bool) -> str:
    lines = [
        f"chaos soak: {elapsed_s:.0f} s, {settings.workers} workers, {settings.clients} clients, "
        f"server --timeout {settings.timeout_s:g} s, {tally.kills} workers SIGKILLed",
        "",
        f"{'kind':<6} {'sent':>8} {'answered':>9} {'correct':>8} {'wrong':>6} {'lost':>5}",
    ]
    for kind, counts in sorted(tally.kinds.items()):
        lines.append(
            f"{kind:<6} {counts.sent:>8} {counts.answered:>9} {counts.correct:>8} "
            f"{counts.wrong:>6} {counts.lost:>5}"
        )
    lines += ["", f"{'kind':<6} {'HTTP':>5} {'status':>7} {'count':>8}"]
    for (kind, http_status, status), count in sorted(tally.statuses.items()):
        lines.append(f"{kind:<6} {http_status:>5} {status:>7} {count:>8}")
    if tally.latencies_s:
        ordered = sorted(tally.latencies_s)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        lines += [
            "",
            f"echo latency: p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
            f"max {ordered[-1] * 1000:.0f} ms",
            f"time without a 200 (gaps over {OUTAGE_GAP_S:g} s): {tally.outage_s:.1f} s in all, "
            f"longest {tally.longest_gap_s:.1f} s",
        ]
    lines += [f"lost: {dict(tally.lost_reasons)}"] if tally.lost_reasons else []
    lines += [f"wrong: {example}" for example in tally.wrong_examples]
    lines.append(f"server ready again at the end: {'yes' if ready_after else 'NO'}")
    return "\n".join(lines)


def failed(tally: Tally, ready_after: bool) -> bool:
    counts = tally.kinds.values()
    return not ready_after or any(c.wrong or c.lost for c in counts)


def parse(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=120, help="seconds of load (default 120)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--timeout", type=float, default=2, help="the server's --timeout (default 2)")
    parser.add_argument("--kill-every", type=float, default=4, help="seconds between SIGKILLs (default 4)")
    parser.add_argument(
        "--special-every", type=float, default=5, help="seconds between crash/sleep requests (default 5)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed for the chaos (default 0)")
    args = parser.parse_args(argv)
    return Settings(
        args.duration,
        args.workers,
        args.clients,
        args.timeout,
        args.kill_every,
        args.special_every,
        args.seed,
    )


def main(argv: list[str] | None = None) -> int:
    settings = parse(argv)
    with running_server(settings) as server:
        started = time.monotonic()
        tally = soak(server, settings)
        elapsed_s = time.monotonic() - started
        ready_after = server.wait_ready(READY_TIMEOUT_S)
        print(report(tally, settings, elapsed_s, ready_after))
        if failed(tally, ready_after):
            print(f"\nFAILED; the server's log ends:\n{server.log_tail()}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
