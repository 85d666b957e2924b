"""Chaos soak: workers die, modules reload, abusive requests arrive, and no request is lost or wrong.

    python bench/chaos.py --duration 120 --workers 2                       # kill: the classic soak
    python bench/chaos.py --mode pools --duration 600 --workers 2          # per-module pools + reloads
    python bench/chaos.py --mode abuse --duration 120 --workers 2          # lac under hostile input

Every mode starts `hub serving start -c config.json` in a temporary HUB_HOME on a free port of
127.0.0.1 and stops it (and every process it started) by pid at the end. Not part of the test suite.

kill (default): `echo` on `--workers` workers, driven by `--clients` threads that each post
`{"texts": [<unique id>]}`; a random worker is SIGKILLed every `--kill-every` s, and now and then a
request posts `"crash": true` (its worker exits) or a `"sleep_s"` past the timeout. Every request must
be answered; a 200 must echo its own id. Exits 1 when a request was lost or answered with another's
result, or when the server is not ready again at the end.

pools: per-module worker pools: `echo` with `--workers` workers takes the clients' traffic, and
`other` (a folder copy of the echo module, its answers prefixed `other-`) with one worker takes a
trickle of its own. The kills and crash/sleep requests of `kill`, plus `hub serving reload -p PORT`
every `--reload-every` s. Non-200 answers are split into the deliberate ones (crash: 119 once it has
killed two workers; sleep: 504; echo requests queued behind a sleeping call: 504) and the rest
(target 0). Exits 1 on a lost or wrong answer, a failed reload, any other non-200 answer, or worker
processes the server no longer knows about at the end.

abuse: see bench/chaos_abuse.py.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import shutil
import signal
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from chaos_server import (
    READY_TIMEOUT_S,
    TEST_MODULES,
    Server,
    percentile,
    run_for,
    running_server,
    scratch_home,
)

OUTAGE_GAP_S = 0.25  # no correct answer for this long, with 16 busy clients: no worker could serve
OTHER_PREFIX = "other-"  # the `other` module's init_args prefix: its answers cannot pass for echo's
OTHER_EVERY_S = 0.05  # the trickle to `other`
SETTLE_S = 30.0  # at the end, how long draining workers may take to exit
RELOAD_LIMIT_S = 300.0

# Non-200 answers the soak provokes on purpose: (kind, HTTP status, envelope status) -> why.
DELIBERATE = {
    ("crash", 503, "119"): "crash: killed two workers, answered 119",
    ("sleep", 504, "118"): "sleep: past the timeout",
    ("echo", 504, "118"): "echo: queued behind a sleeping call, timed out",
}


@dataclass(frozen=True)
class Settings:
    """One soak, from the command line."""

    mode: str
    duration_s: float
    workers: int
    clients: int
    timeout_s: float
    kill_every_s: float
    special_every_s: float
    reload_every_s: float
    seed: int
    keep_log: Path | None = None

    @property
    def client_timeout_s(self) -> float:
        """Long past anything the server may take: waiting longer than this counts as lost."""
        return 2 * self.timeout_s + 10

    @property
    def pools(self) -> bool:
        return self.mode == "pools"

    @property
    def expected_workers(self) -> int:
        return self.workers + 1 if self.pools else self.workers


@dataclass
class KindCounts:
    """What happened to the requests of one kind."""

    sent: int = 0
    answered: int = 0
    correct: int = 0
    wrong: int = 0
    lost: int = 0


@dataclass(frozen=True)
class Reload:
    """One `hub serving reload` run."""

    exit_code: int
    duration_s: float
    output: str


@dataclass
class Tally:
    """Every request's outcome, shared by the client threads."""

    kinds: dict[str, KindCounts] = field(default_factory=dict)
    statuses: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    lost_reasons: Counter[str] = field(default_factory=Counter)
    wrong_examples: list[str] = field(default_factory=list)
    unexpected_examples: list[str] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    reloads: list[Reload] = field(default_factory=list)
    kills: int = 0
    last_success_s: float = field(default_factory=time.monotonic)
    longest_gap_s: float = 0.0
    outage_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def counts(self, kind: str) -> KindCounts:
        return self.kinds.setdefault(kind, KindCounts())

    def unexpected(self) -> Counter[tuple[str, int, str]]:
        """Non-200 answers that the soak did not provoke on purpose."""
        return Counter(
            {key: n for key, n in self.statuses.items() if key[1] != 200 and key not in DELIBERATE}
        )


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
        key = (outcome.kind, outcome.http_status, outcome.envelope_status)
        tally.statuses[key] += 1
        if outcome.http_status != 200 and key not in DELIBERATE and len(tally.unexpected_examples) < 5:
            tally.unexpected_examples.append(outcome.detail)
        if outcome.kind == "echo":
            tally.latencies_s.append(outcome.latency_s)
        if outcome.http_status == 200 and outcome.correct:
            counts.correct += 1
            if outcome.kind == "echo":
                note_success(tally)
        elif outcome.http_status == 200:
            counts.wrong += 1
            if len(tally.wrong_examples) < 5:
                tally.wrong_examples.append(outcome.detail)


def note_success(tally: Tally) -> None:
    """Track the stretches without a correct echo answer (called with the lock held)."""
    now = time.monotonic()
    gap_s = now - tally.last_success_s
    tally.longest_gap_s = max(tally.longest_gap_s, gap_s)
    tally.outage_s += gap_s if gap_s > OUTAGE_GAP_S else 0.0
    tally.last_success_s = now


def server_config(settings: Settings, home: Path) -> dict[str, Any]:
    """kill: `-m echo --use_multiprocess --workers N`; pools: echo and `other`, each its own pool."""
    common = {"use_multiprocess": True, "timeout": settings.timeout_s}
    if not settings.pools:
        return {"modules_info": {"echo": {}}, "workers": settings.workers, **common}
    other = home / "other_echo"
    shutil.copytree(TEST_MODULES / "echo", other)
    modules = {
        "echo": {"workers": settings.workers},
        "other": {"init_args": {"directory": str(other), "prefix": OTHER_PREFIX}, "workers": 1},
    }
    return {"modules_info": modules, **common}


# --- the load --------------------------------------------------------------------------------


def post(client: httpx.Client, kind: str, module: str, body: dict[str, Any], expected: str) -> Outcome:
    """One request, classified: answered (and correct?) or lost."""
    started = time.monotonic()
    try:
        response = client.post(f"/predict/{module}", json=body)
    except httpx.TransportError as error:
        return Outcome(kind, None, "", False, time.monotonic() - started, type(error).__name__)
    elapsed_s = time.monotonic() - started
    try:
        envelope = response.json()
    except ValueError:
        return Outcome(kind, response.status_code, "not JSON", False, elapsed_s, response.text[:200])
    results = envelope.get("results")
    correct = isinstance(results, list) and [r.get("text") for r in results] == [expected]
    detail = f"{kind}: sent {body['texts']!r}, got HTTP {response.status_code} {response.text[:300]}"
    return Outcome(kind, response.status_code, str(envelope.get("status")), correct, elapsed_s, detail)


def client_loop(server: Server, settings: Settings, tally: Tally, index: int, stop: threading.Event) -> None:
    """Post unique ids to echo back to back until told to stop."""
    with httpx.Client(base_url=server.url, timeout=settings.client_timeout_s) as client:
        for sequence in itertools.count():
            if stop.is_set():
                return
            text = f"client{index}-{sequence}"
            record(tally, post(client, "echo", "echo", {"texts": [text]}, text))


def other_loop(server: Server, settings: Settings, tally: Tally, stop: threading.Event) -> None:
    """A trickle of unique ids to the `other` module, whose answers carry its prefix."""
    with httpx.Client(base_url=server.url, timeout=settings.client_timeout_s) as client:
        for sequence in itertools.count():
            if stop.wait(OTHER_EVERY_S):
                return
            text = f"other{sequence}"
            record(tally, post(client, "other", "other", {"texts": [text]}, OTHER_PREFIX + text))


def special_request(server: Server, settings: Settings, tally: Tally, kind: str, number: int) -> None:
    """A request that crashes its worker, or sleeps past the server's timeout."""
    text = f"{kind}-{number}"
    extra: dict[str, Any] = {"crash": True} if kind == "crash" else {"sleep_s": settings.timeout_s + 1}
    with httpx.Client(base_url=server.url, timeout=settings.client_timeout_s) as client:
        record(tally, post(client, kind, "echo", {"texts": [text], **extra}, text))


def kill_a_worker(server: Server, tally: Tally, rng: random.Random) -> None:
    workers = server.workers()
    if workers:
        try:
            rng.choice(workers).send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            return
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


def reload_loop(server: Server, settings: Settings, tally: Tally, stop: threading.Event) -> None:
    """`hub serving reload -p PORT` every ``reload_every_s``, as an operator would run it."""
    while not stop.wait(settings.reload_every_s):
        started = time.monotonic()
        done = server.hub("serving", "reload", "-p", str(server.port), timeout_s=RELOAD_LIMIT_S)
        output = (done.stdout + done.stderr).strip()
        with tally.lock:
            tally.reloads.append(Reload(done.returncode, time.monotonic() - started, output))


def soak(server: Server, settings: Settings) -> Tally:
    """Run the clients and the chaos for the duration; return once every request has its outcome."""
    tally = Tally()
    stop = threading.Event()
    threads = [
        threading.Thread(target=client_loop, args=(server, settings, tally, index, stop))
        for index in range(settings.clients)
    ]
    threads.append(threading.Thread(target=chaos_loop, args=(server, settings, tally, stop)))
    if settings.pools:
        threads.append(threading.Thread(target=other_loop, args=(server, settings, tally, stop)))
        threads.append(threading.Thread(target=reload_loop, args=(server, settings, tally, stop)))
    run_for(threads, stop, settings.duration_s)
    return tally


@dataclass(frozen=True)
class EndState:
    """The server after the soak: ready again, and its worker processes against what it reports."""

    ready: bool
    processes: int  # the server's child processes, as the OS sees them
    known: int  # worker processes the server reports (`GET /ready`'s "workers")


def end_state(server: Server, settings: Settings) -> EndState:
    """Wait for the server to be ready and for draining workers to leave (up to SETTLE_S)."""
    ready = server.wait_ready(READY_TIMEOUT_S)
    deadline = time.monotonic() + SETTLE_S
    processes = known = -1
    while time.monotonic() < deadline:
        processes = len(server.workers())
        try:
            known = int(httpx.get(f"{server.url}/ready", timeout=5).json()["workers"])
        except (httpx.HTTPError, ValueError, KeyError):
            known = -1
        if processes == known == settings.expected_workers:
            break
        time.sleep(0.5)
    return EndState(ready, processes, known)


# --- the report ------------------------------------------------------------------------------


def counts_table(tally: Tally) -> list[str]:
    lines = [f"{'kind':<6} {'sent':>8} {'answered':>9} {'correct':>8} {'wrong':>6} {'lost':>5}"]
    for kind, counts in sorted(tally.kinds.items()):
        lines.append(
            f"{kind:<6} {counts.sent:>8} {counts.answered:>9} {counts.correct:>8} "
            f"{counts.wrong:>6} {counts.lost:>5}"
        )
    return lines


def status_table(tally: Tally) -> list[str]:
    lines = [f"{'kind':<6} {'HTTP':>5} {'status':>7} {'count':>8}  verdict"]
    for key, count in sorted(tally.statuses.items()):
        kind, http_status, status = key
        verdict = "" if http_status == 200 else DELIBERATE.get(key, "NOT DELIBERATE")
        lines.append(f"{kind:<6} {http_status:>5} {status:>7} {count:>8}  {verdict}")
    deliberate = sum(n for key, n in tally.statuses.items() if key in DELIBERATE)
    unexpected = sum(tally.unexpected().values())
    lines += ["", f"non-200 answers: {deliberate} deliberate, {unexpected} other (target 0)"]
    return lines + [f"  other: {example}" for example in tally.unexpected_examples]


def latency_lines(tally: Tally) -> list[str]:
    if not tally.latencies_s:
        return []
    ordered = sorted(tally.latencies_s)
    return [
        f"echo latency: p50 {statistics.median(ordered) * 1000:.1f} ms, "
        f"p99 {percentile(ordered, 0.99) * 1000:.1f} ms, max {ordered[-1] * 1000:.0f} ms",
        f"time without a 200 (gaps over {OUTAGE_GAP_S:g} s): {tally.outage_s:.1f} s in all, "
        f"longest {tally.longest_gap_s:.1f} s",
    ]


def reload_lines(tally: Tally) -> list[str]:
    if not tally.reloads:
        return []
    failed = [r for r in tally.reloads if r.exit_code != 0]
    seconds = sorted(r.duration_s for r in tally.reloads)
    lines = [
        f"reloads (hub serving reload -p PORT): {len(tally.reloads) - len(failed)} done, "
        f"{len(failed)} failed; took {seconds[0]:.1f} / {statistics.median(seconds):.1f} / "
        f"{seconds[-1]:.1f} s (min / median / max)"
    ]
    return lines + [f"  failed (exit {r.exit_code}): {r.output[-300:]}" for r in failed[:5]]


# The pool's log lines (their wording has changed before: the summary counts what it can match).
DEATH = re.compile(r"worker \d+ \(pid \d+\) (?:died|exited while loading|could not load the module) \((.*)\)")
WEDGED = re.compile(r"worker \d+ \(pid (\d+)\) answered nothing for")


def log_lines(log: str) -> list[str]:
    """What the server's log says about its workers: deaths by how they ended, wedge kills, retries."""
    deaths = Counter(reason.removesuffix("; starting a new one") for reason in DEATH.findall(log))
    shown = ", ".join(f"{reason}: {n}" for reason, n in deaths.most_common())
    return [
        f"server log: {sum(deaths.values())} workers replaced ({shown}); "
        f"{len(set(WEDGED.findall(log)))} killed as wedged behind a sleeping call; "
        f"{log.count('when it died; sending it again')} requests sent again; "
        f"{log.count('it is the likely cause: answering 119')} answered 119"
    ]


def report(tally: Tally, settings: Settings, elapsed_s: float, end: EndState, log: str) -> str:
    modules = f"echo x{settings.workers} + other x1" if settings.pools else f"echo x{settings.workers}"
    reloads = f", reload every {settings.reload_every_s:g} s" if settings.pools else ""
    lines = [
        f"chaos soak ({settings.mode}): {elapsed_s:.0f} s, workers {modules}, {settings.clients} clients, "
        f"server --timeout {settings.timeout_s:g} s, {tally.kills} workers SIGKILLed{reloads}",
        "",
        *counts_table(tally),
        "",
        *status_table(tally),
        "",
        *latency_lines(tally),
        *reload_lines(tally),
        *log_lines(log),
    ]
    lines += [f"lost: {dict(tally.lost_reasons)}"] if tally.lost_reasons else []
    lines += [f"wrong: {example}" for example in tally.wrong_examples]
    lines.append(
        f"worker processes at the end: {end.processes} running, {end.known} known to the server "
        f"(expected {settings.expected_workers})"
    )
    lines.append(f"server ready again at the end: {'yes' if end.ready else 'NO'}")
    return "\n".join(lines)


def failed(tally: Tally, settings: Settings, end: EndState) -> bool:
    if not end.ready or any(c.wrong or c.lost for c in tally.kinds.values()):
        return True
    if not settings.pools:
        return False
    leaked = end.processes != end.known
    return leaked or any(r.exit_code != 0 for r in tally.reloads) or bool(tally.unexpected())


def parse_mode(argv: list[str] | None) -> tuple[str, list[str]]:
    """The mode, and the arguments without it (for the abuse mode's own parser)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--mode", choices=("kill", "pools", "abuse"), default="kill")
    known, rest = parser.parse_known_args(argv)
    return known.mode, rest


def parse_soak(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=("kill", "pools", "abuse"), default="kill", help="(default kill)")
    parser.add_argument("--duration", type=float, default=120, help="seconds of load (default 120)")
    parser.add_argument("--workers", type=int, default=2, help="echo's worker processes (default 2)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--timeout", type=float, default=2, help="the server's --timeout (default 2)")
    parser.add_argument("--kill-every", type=float, default=4, help="seconds between SIGKILLs (default 4)")
    parser.add_argument(
        "--special-every", type=float, default=5, help="seconds between crash/sleep requests (default 5)"
    )
    parser.add_argument(
        "--reload-every", type=float, default=30, help="pools: seconds between reloads (default 30)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed for the chaos (default 0)")
    parser.add_argument("--keep-log", type=Path, default=None, help="copy the server's log here at the end")
    args = parser.parse_args(argv)
    return Settings(
        args.mode,
        args.duration,
        args.workers,
        args.clients,
        args.timeout,
        args.kill_every,
        args.special_every,
        args.reload_every,
        args.seed,
        args.keep_log,
    )


def run_soak(settings: Settings) -> int:
    with scratch_home() as home, running_server(home, server_config(settings, home)) as server:
        started = time.monotonic()
        tally = soak(server, settings)
        elapsed_s = time.monotonic() - started
        end = end_state(server, settings)
        print(report(tally, settings, elapsed_s, end, server.log_text()))
        server.keep_log(settings.keep_log)
        if failed(tally, settings, end):
            print(f"\nFAILED; the server's log (access lines left out) ends:\n{server.log_tail()}")
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    mode, rest = parse_mode(argv)
    if mode == "abuse":
        import chaos_abuse

        return chaos_abuse.main(rest)
    return run_soak(parse_soak(argv))


if __name__ == "__main__":
    sys.exit(main())
