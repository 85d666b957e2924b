"""Abuse soak: `lac` under hostile input, while normal clients must get every answer right.

    python bench/chaos.py --mode abuse --duration 120 --workers 2

Starts `hub serving start` serving the real `lac` model (`--workers` worker processes) and first asks
it for the answer to each of a few Chinese sentences. Then, for `--duration` seconds, `--clients`
normal clients post those sentences and compare each answer with the first one, while one abuser
posts, in turn, the inputs of ABUSES: a 20,000-character text without punctuation, 1,000 texts in one
request, texts over the module's bounds, wrong types, malformed JSON, a NaN literal, 100,000-deep
nesting, a gzip-encoded body, invalid UTF-8, a path with %0a and %1b, a body near max_body, and
connections that send half a request's headers and stall. Every second it samples each worker's
resident memory. Exits 1 when a normal request was lost or answered wrongly, or when a worker grew by
more than 200 MB over the largest worker at the start.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import itertools
import json
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from chaos_server import Server, run_for, running_server, scratch_home

SENTENCES = (
    "今天是个好日子",
    "百度是一家高科技公司",
    "我爱北京天安门",
    "春天来了，花儿都开了。",
    "他在清华大学读计算机专业",
    "南京市长江大桥",
    "请把这份文件交给王经理",
    "明天上午十点在三楼会议室开会",
    "小明喜欢在周末和朋友一起踢足球",
    "这家餐厅的饺子非常好吃",
)
LONG_TEXT_CHARS = 20_000
MANY_TEXTS = 1_000
MAX_TEXTS = 10_000  # lac's defaults (init_args max_texts, max_text_chars)
MAX_TEXT_CHARS = 100_000
MAX_BODY_BYTES = 64 * 1024 * 1024  # the server's default max_body_mb
DEEP = 100_000
MEMORY_GROWTH_LIMIT_MB = 200.0
STALL_CLOSE_LIMIT_S = 40.0  # half-header connections must be closed by the server within this
STALLS_PER_ROUND = 2
HUGE_BODY_EVERY = 4  # rounds: a 64 MB body each round would be most of the abuser's traffic
NO_PUNCTUATION = "我们今天在北京大学的图书馆里认真地看书学习然后一起去食堂吃午饭"


@dataclass(frozen=True)
class Settings:
    duration_s: float
    workers: int
    clients: int
    timeout_s: float
    keep_log: Path | None


@dataclass(frozen=True)
class Answer:
    """What the server said to one abusive request: ``label`` like ``400/101``, and whether it fits."""

    label: str
    expected: bool
    detail: str = ""


@dataclass
class Tally:
    """Normal requests' outcomes, abusive requests' answers, memory samples."""

    normal: Counter[str] = field(default_factory=Counter)  # sent / correct / wrong / lost
    normal_statuses: Counter[str] = field(default_factory=Counter)
    wrong_examples: list[str] = field(default_factory=list)
    abuse: dict[str, Counter[str]] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    memory: list[dict[int, float]] = field(default_factory=list)  # worker pid -> RSS MB, each second
    during: list[str] = field(default_factory=list)  # the abusive request on its way at each sample
    current: str = "-"  # the abusive request on its way now
    front_mb: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, answer: Answer) -> None:
        with self.lock:
            self.abuse.setdefault(kind, Counter())[answer.label] += 1
            if not answer.expected and len(self.unexpected) < 10:
                self.unexpected.append(f"{kind}: {answer.label} {answer.detail[:300]}")


# --- raw HTTP, for what httpx will not send ---------------------------------------------------


def raw_exchange(port: int, request: bytes, timeout_s: float = 30) -> bytes:
    """Send ``request`` bytes on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(response: bytes) -> tuple[int, str]:
    """The HTTP status and the envelope's status of a raw response."""
    head, _, body = response.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    http_status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    try:
        envelope = json.loads(body)
    except ValueError:
        return http_status, "-"
    return http_status, str(envelope.get("status", "-")) if isinstance(envelope, dict) else "-"


def stall_half_headers(port: int) -> Answer:
    """Send half a request's headers and wait for the server to close the connection."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=STALL_CLOSE_LIMIT_S) as connection:
        connection.sendall(b"POST /predict/lac HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appli")
        try:
            while connection.recv(65536):
                pass
        except TimeoutError:
            return Answer(f"open after {STALL_CLOSE_LIMIT_S:g} s", False)
        except OSError as error:  # a reset closes it too
            return Answer(f"reset ({type(error).__name__})", True)
    waited_s = time.monotonic() - started
    return Answer(f"closed within {int(waited_s) + 1} s", True)


# --- the abusive requests ---------------------------------------------------------------------


def envelope_answer(response: httpx.Response, wanted: Callable[[int, dict[str, Any]], bool]) -> Answer:
    try:
        envelope = response.json()
    except ValueError:
        envelope = {}
    envelope = envelope if isinstance(envelope, dict) else {}
    label = f"{response.status_code}/{envelope.get('status', '-')}"
    return Answer(label, wanted(response.status_code, envelope), response.text[:300])


def refused(*statuses: int, naming: str = "") -> Callable[[int, dict[str, Any]], bool]:
    """An answer with one of ``statuses`` whose message names ``naming``."""
    return lambda status, envelope: status in statuses and naming in str(envelope.get("msg", ""))


def long_text_ok(text: str) -> Callable[[int, dict[str, Any]], bool]:
    """200, and the words read back as the text (long texts are split and joined again)."""

    def check(status: int, envelope: dict[str, Any]) -> bool:
        try:
            return status == 200 and "".join(envelope["results"][0]["word"]) == text
        except (KeyError, IndexError, TypeError):
            return False

    return check


def many_texts_ok(status: int, envelope: dict[str, Any]) -> bool:
    results = envelope.get("results")
    return status == 200 and isinstance(results, list) and len(results) == MANY_TEXTS


def json_post(client: httpx.Client, body: object, wanted: Callable[[int, dict[str, Any]], bool]) -> Answer:
    return envelope_answer(client.post("/predict/lac", json=body), wanted)


def bytes_post(
    client: httpx.Client,
    content: bytes,
    wanted: Callable[[int, dict[str, Any]], bool],
    headers: dict[str, str] | None = None,
) -> Answer:
    all_headers = {"content-type": "application/json", **(headers or {})}
    return envelope_answer(client.post("/predict/lac", content=content, headers=all_headers), wanted)


def control_path(port: int) -> Answer:
    """A module name with a newline and an escape in it: 404, and nothing raw in the log."""
    path = b"/predict/x%0a2026-01-01T00:00:00Z%20access%20forged%20200%1b[2J"
    request = b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    request += b"Content-Length: 2\r\nConnection: close\r\n\r\n{}"
    http_status, status = status_of(raw_exchange(port, request))
    return Answer(f"{http_status}/{status}", http_status == 404)


def abuses(port: int, junk: bytes) -> dict[str, Callable[[httpx.Client], Answer]]:
    """Each abusive request by name: it sends, and judges the answer."""
    long_text = (NO_PUNCTUATION * (LONG_TEXT_CHARS // len(NO_PUNCTUATION) + 1))[:LONG_TEXT_CHARS]
    deep = b'{"texts": ' + b"[" * DEEP + b"]" * DEEP + b"}"
    bad = refused(400)
    return {
        "long_text_20k": lambda c: json_post(c, {"texts": [long_text]}, long_text_ok(long_text)),
        "texts_1000": lambda c: json_post(c, {"texts": [SENTENCES[0]] * MANY_TEXTS}, many_texts_ok),
        "text_over_bound": lambda c: json_post(
            c, {"texts": ["好" * (MAX_TEXT_CHARS + 1)]}, refused(400, naming="max_text_chars")
        ),
        "texts_over_bound": lambda c: json_post(
            c, {"texts": ["好"] * (MAX_TEXTS + 1)}, refused(400, naming="max_texts")
        ),
        "wrong_type": lambda c: json_post(c, {"texts": 5}, bad),
        "malformed_json": lambda c: bytes_post(c, b'{"texts": ["\xe4\xbb\x8a"', bad),
        "nan_literal": lambda c: bytes_post(c, b'{"texts": [NaN]}', bad),
        "deep_nesting": lambda c: bytes_post(c, deep, bad),
        "gzip_body": lambda c: bytes_post(
            c,
            gzip.compress(json.dumps({"texts": [SENTENCES[0]]}).encode()),
            refused(415, 200),
            {"content-encoding": "gzip"},
        ),
        "invalid_utf8": lambda c: bytes_post(c, b'{"texts": ["\xff\xfe\xfd"]}', bad),
        "control_path": lambda c: control_path(port),
        "huge_junk_body": lambda c: bytes_post(c, junk, refused(400, 413)),
    }


def abuser_loop(server: Server, settings: Settings, tally: Tally, stop: threading.Event) -> None:
    """Round after round of every abuse; half-header connections stall in the background."""
    junk = os.urandom(MAX_BODY_BYTES - 64 * 1024)
    kinds = abuses(server.port, junk)
    stalls: list[Future[Answer]] = []
    with (
        httpx.Client(base_url=server.url, timeout=settings.timeout_s * 2 + 30) as client,
        ThreadPoolExecutor(max_workers=16, thread_name_prefix="stall") as stallers,
    ):
        for round_number in itertools.count():
            stalls += [stallers.submit(stall_half_headers, server.port) for _ in range(STALLS_PER_ROUND)]
            for kind, send in kinds.items():
                if stop.is_set():
                    break
                if kind == "huge_junk_body" and round_number % HUGE_BODY_EVERY:
                    continue
                tally.current = kind
                try:
                    answer = send(client)
                except (httpx.HTTPError, OSError) as error:
                    answer = Answer(f"no answer ({type(error).__name__})", False, str(error))
                tally.note(kind, answer)
            tally.current = "-"
            if stop.is_set():
                break
    for stall in stalls:
        try:
            answer = stall.result()
        except OSError as error:
            answer = Answer(f"could not connect ({type(error).__name__})", False, str(error))
        tally.note("half_headers", answer)


# --- normal traffic and memory ----------------------------------------------------------------


def expected_answers(server: Server) -> dict[str, Any]:
    """The server's answer to each sentence alone, before any abuse."""
    answers = {}
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for sentence in SENTENCES:
            response = client.post("/predict/lac", json={"texts": [sentence]})
            response.raise_for_status()
            answers[sentence] = response.json()["results"][0]
    return answers


def is_expected(response: httpx.Response, expected: Any) -> bool:
    """A 200 whose one result is the expected words and tags."""
    try:
        return response.status_code == 200 and response.json()["results"] == [expected]
    except (ValueError, KeyError, TypeError):
        return False


def normal_loop(
    server: Server, settings: Settings, expected: dict[str, Any], tally: Tally, stop: threading.Event
) -> None:
    with httpx.Client(base_url=server.url, timeout=settings.timeout_s * 2 + 30) as client:
        for sentence in itertools.cycle(SENTENCES):
            if stop.is_set():
                return
            try:
                response = client.post("/predict/lac", json={"texts": [sentence]})
            except httpx.HTTPError as error:
                outcome, status, detail = "lost", type(error).__name__, str(error)
            else:
                status, detail = str(response.status_code), response.text[:300]
                outcome = "correct" if is_expected(response, expected[sentence]) else "wrong"
            with tally.lock:
                tally.normal["sent"] += 1
                tally.normal[outcome] += 1
                tally.normal_statuses[status] += 1
                if outcome != "correct" and len(tally.wrong_examples) < 5:
                    tally.wrong_examples.append(f"{sentence}: {status} {detail}")


def memory_loop(server: Server, tally: Tally, stop: threading.Event) -> None:
    """Each worker's RSS (and the front's), once a second."""
    import psutil

    front = psutil.Process(server.process.pid)
    while True:
        sample = server.worker_rss_mb()
        with contextlib.suppress(psutil.NoSuchProcess), tally.lock:
            tally.memory.append(sample)
            tally.during.append(tally.current)
            tally.front_mb.append(front.memory_info().rss / 1024 / 1024)
        if stop.wait(1.0):
            return


def run(server: Server, settings: Settings, expected: dict[str, Any]) -> Tally:
    tally = Tally()
    stop = threading.Event()
    threads = [
        threading.Thread(target=normal_loop, args=(server, settings, expected, tally, stop))
        for _ in range(settings.clients)
    ]
    threads.append(threading.Thread(target=abuser_loop, args=(server, settings, tally, stop)))
    memory = threading.Thread(target=memory_loop, args=(server, tally, stop))
    memory.start()
    time.sleep(1.5)  # a sample of the workers before the abuse
    try:
        run_for(threads, stop, settings.duration_s)
    finally:
        memory.join()
    tally.memory.append(server.worker_rss_mb())
    tally.during.append("-")
    return tally


# --- the report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    """Worker RSS: the largest worker at the start, at its peak, at the end; and the workers seen."""

    start_mb: float
    peak_mb: float
    end_mb: float
    pids: int
    start_all: str
    end_all: str
    course: str  # the largest worker at each tenth of the run
    peak_during: str  # the abusive request on its way when the peak was sampled

    @property
    def growth_mb(self) -> float:
        return self.peak_mb - self.start_mb


def memory_of(tally: Tally) -> Memory:
    pairs = [(sample, kind) for sample, kind in zip(tally.memory, tally.during, strict=True) if sample]
    samples = [sample for sample, _ in pairs]
    first, last = samples[0], samples[-1]
    peak_sample, peak_during = max(pairs, key=lambda pair: max(pair[0].values()))

    def shown(sample: dict[int, float]) -> str:
        return ", ".join(f"pid {pid} {mb:.0f} MB" for pid, mb in sorted(sample.items()))

    return Memory(
        max(first.values()),
        max(peak_sample.values()),
        max(last.values()),
        len({pid for sample in samples for pid in sample}),
        shown(first),
        shown(last),
        " ".join(f"{max(samples[i * (len(samples) - 1) // 10].values()):.0f}" for i in range(11)),
        peak_during,
    )


def log_findings(server: Server) -> list[str]:
    """Raw control characters in the server's log (a forged line or a terminal escape would show)."""
    text = server.log_text()
    escapes = text.count("\x1b")
    forged = sum(1 for line in text.splitlines() if line.startswith("2026-01-01T00:00:00Z"))
    return [f"server log: {escapes} raw ESC characters, {forged} forged access lines (target 0, 0)"]


def report(tally: Tally, settings: Settings, elapsed_s: float) -> str:
    normal = tally.normal
    memory = memory_of(tally)
    lines = [
        f"abuse soak: {settings.duration_s:g} s of abuse ({elapsed_s:.0f} s until the last stalled "
        f"connection closed), lac on {settings.workers} workers, {settings.clients} normal clients, "
        f"server --timeout {settings.timeout_s:g} s",
        "",
        f"normal requests: {normal['sent']} sent, {normal['correct']} correct, {normal['wrong']} wrong, "
        f"{normal['lost']} lost; answers {dict(sorted(tally.normal_statuses.items()))}",
        "",
        f"{'abusive request':<18} {'sent':>5}  answers",
    ]
    for kind, answers in tally.abuse.items():
        shown = ", ".join(f"{label} x{count}" for label, count in sorted(answers.items()))
        lines.append(f"{kind:<18} {sum(answers.values()):>5}  {shown}")
    lines += ["", f"abusive answers not as expected: {len(tally.unexpected)} (target 0)"]
    lines += [f"  {example}" for example in tally.unexpected]
    lines += [
        "",
        f"worker RSS (largest worker): start {memory.start_mb:.0f} MB, max {memory.peak_mb:.0f} MB, "
        f"end {memory.end_mb:.0f} MB; growth {memory.growth_mb:+.0f} MB (limit {MEMORY_GROWTH_LIMIT_MB:g}); "
        f"the max was sampled during: {memory.peak_during}",
        f"  largest worker at each tenth of the run, MB: {memory.course}",
        f"  start: {memory.start_all}",
        f"  end:   {memory.end_all}  ({memory.pids} worker pids seen)",
        f"front RSS: start {tally.front_mb[0]:.0f} MB, max {max(tally.front_mb):.0f} MB, "
        f"end {tally.front_mb[-1]:.0f} MB",
    ]
    lines += [f"wrong or lost: {example}" for example in tally.wrong_examples]
    return "\n".join(lines)


def failed(tally: Tally) -> bool:
    return bool(tally.normal["wrong"] or tally.normal["lost"]) or (
        memory_of(tally).growth_mb > MEMORY_GROWTH_LIMIT_MB
    )


def parse(argv: list[str]) -> Settings:
    parser = argparse.ArgumentParser(
        prog="chaos.py --mode abuse",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--duration", type=float, default=120, help="seconds of abuse (default 120)")
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2), help="lac's workers (default 2)")
    parser.add_argument("--clients", type=int, default=4, help="normal clients (default 4)")
    parser.add_argument("--timeout", type=float, default=60, help="the server's --timeout (default 60)")
    parser.add_argument("--keep-log", type=Path, default=None, help="copy the server's log here at the end")
    args = parser.parse_args(argv)
    return Settings(args.duration, args.workers, args.clients, args.timeout, args.keep_log)


def main(argv: list[str]) -> int:
    settings = parse(argv)
    config = {
        "modules_info": {"lac": {"workers": settings.workers}},
        "use_multiprocess": True,
        "timeout": settings.timeout_s,
    }
    with scratch_home() as home, running_server(home, config) as server:
        expected = expected_answers(server)
        started = time.monotonic()
        tally = run(server, settings, expected)
        print(report(tally, settings, time.monotonic() - started))
        print("\n".join(log_findings(server)))
        server.keep_log(settings.keep_log)
        if failed(tally):
            print(f"\nFAILED; the server's log (access lines left out) ends:\n{server.log_tail()}")
            return 1
    return 0
