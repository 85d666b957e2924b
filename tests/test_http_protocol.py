"""The HTTP layer of a real server process: bytes no client library sends, pipelining, upgrade
offers, the access log as it reaches the disk and stderr, and connections that never finish."""

from __future__ import annotations

import json
import resource
import shutil
import socket
import struct
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.rawhttp import (
    AnswerReader,
    assert_echoed,
    assert_envelope_error,
    assert_still_serving,
    build,
    connect,
    exchange,
    parse_head,
    read_to_close,
)
from tests.serverproc import ServerProcess, free_port

FIXTURES = Path(__file__).parent / "fixtures"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAX_BODY_BYTES = 64 * 1024 * 1024
HEADER_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 1.0
MAX_CONNECTIONS = 25
LOW_OPEN_FILES = 256


def start(tmp: Path, settings: Mapping[str, object] | None = None, **options: object) -> ServerProcess:
    home = tmp / "hub_home"
    shutil.copytree(FIXTURES / "modules", home / "modules")
    port = free_port()
    config = tmp / "config.json"
    config.write_text(json.dumps({"port": port, "modules_info": {"echo": {}}, **(settings or {})}))
    return ServerProcess(["-c", str(config)], home, port, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One ``hub serving start`` with the default settings, for the whole file."""
    with start(tmp_path_factory.mktemp("protocol")) as running:
        yield running


def lower_open_files() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (LOW_OPEN_FILES, hard))


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Short deadlines and few connections, started with a low soft limit on open files."""
    limits = {"header_timeout_s": HEADER_TIMEOUT_S, "body_timeout_s": BODY_TIMEOUT_S}
    settings = {**limits, "max_connections": MAX_CONNECTIONS}
    with start(tmp_path_factory.mktemp("strict"), settings, preexec=lower_open_files) as running:
        yield running


# --- requests only a raw socket sends --------------------------------------------------------

CHUNKED = (b"Transfer-Encoding: chunked",)


def _with_length(length: bytes) -> bytes:
    return build("POST", "/predict/echo", b"{}").replace(b"Content-Length: 2", b"Content-Length: " + length)


BROKEN_REQUESTS = {
    "garbage": b"\x00\x01\x02garbage\r\n\r\n",
    "content-length abc": _with_length(b"abc"),
    "content-length -5": _with_length(b"-5"),
    "content-length 10^23": _with_length(b"9" * 23),
    "length and chunked": build("POST", "/predict/echo", b"2\r\n{}\r\n0\r\n\r\n", extra=CHUNKED),
    "bad chunk size": build("POST", "/predict/echo", b"zz\r\n{}\r\n0\r\n\r\n", extra=CHUNKED),
    "unknown method": build("BREW", "/predict/echo"),
    "lower-case method": build("post", "/predict/echo", b"{}"),
    "CONNECT": b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n",
    "no slash": build("POST", "predict/echo", b"{}"),
    "raw bytes in path": build("POST", b"/predict/\xff\xfe", b"{}"),
    "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "asterisk": build("OPTIONS", "*"),
    "200 KB header": build("POST", "/predict/echo", b"{}", extra=(b"X-Big: " + b"a" * 200_000,)),
}


@pytest.mark.parametrize("request_bytes", BROKEN_REQUESTS.values(), ids=BROKEN_REQUESTS.keys())
def test_broken_http_gets_a_4xx(server: ServerProcess, request_bytes: bytes) -> None:
    answer = exchange(server, request_bytes)
    assert 400 <= answer.status < 500, answer.describe()
    assert_still_serving(server)


ODD_PATHS = [
    "/predict/",
    "/predict/../../etc/passwd",
    "/predict/echo/extra",
    "/predict/%00",
    "/predict/echo%00",
    "/predict//echo",
    "/predict/ECHO",
    "/predict/%ff%fe",
    "/predict/%zz",
    "/predict/echo/",
    "/predict/" + "a" * 10_000,
]


@pytest.mark.parametrize("path", ODD_PATHS, ids=lambda path: path[:30])
def test_odd_paths_get_a_404_envelope(server: ServerProcess, path: str) -> None:
    assert_envelope_error(exchange(server, build("POST", path, b'{"texts": ["ok"]}')), "111")


@pytest.mark.parametrize("path", ["/predict/e%63ho", "/predict/echo?x=1", "/predict/echo#top"])
def test_paths_that_name_echo_after_decoding_are_served(server: ServerProcess, path: str) -> None:
    assert_echoed(exchange(server, build("POST", path, b'{"texts": ["ok"]}')), ["ok"])


def test_a_url_longer_than_the_http_parser_takes_gets_a_400(server: ServerProcess) -> None:
    # httptools' URL parser stops at 64 KiB: the HTTP layer answers (plain text) before the app runs.
    answer = exchange(server, build("POST", "/predict/" + "a" * 70_000, b'{"texts": ["ok"]}'))
    assert answer.status == 400, answer.describe()
    assert_still_serving(server)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_ignored_h2c_upgrade_offer_keeps_the_body(server: ServerProcess, chunked: bool) -> None:
    body = b'{"texts": ["ok"]}'
    upgrade = (b"Upgrade: h2c", b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA")
    request = build("POST", "/predict/echo", body, extra=upgrade, close=False)
    request = request.replace(b"Host: 127.0.0.1", b"Host: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings")
    if chunked:
        head, _ = request.split(b"\r\n\r\n", 1)
        head = head.replace(b"Content-Length: %d" % len(body), b"Transfer-Encoding: chunked")
        request = head + b"\r\n\r\n" + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    assert_echoed(exchange(server, request), ["ok"])


def test_pipelined_requests_are_answered_in_order(server: ServerProcess) -> None:
    requests = [
        build("POST", "/predict/echo", b'{"texts": ["one"]}', close=False),
        build("POST", "/predict/echo", b"[1]", close=False),
        build("GET", "/health", close=False),
        build("POST", "/predict/echo", b'{"texts": ["two"]}'),
    ]
    with connect(server) as sock:
        sock.sendall(b"".join(requests))
        reader = AnswerReader(sock)
        assert_echoed(reader.next(), ["one"])
        assert_envelope_error(reader.next(), "114")
        assert reader.next().status == 200
        assert_echoed(reader.next(), ["two"])


def test_a_body_just_over_64_mb_gets_413_while_it_streams(server: ServerProcess) -> None:
    json_header = {"content-type": "application/json"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while reading
        yield from (b" " * (1 << 20) for _ in range(MAX_BODY_BYTES // (1 << 20) + 2))

    response = server.client.post("/predict/echo", content=chunks(), headers=json_header)
    assert response.status_code == 413 and response.json()["status"] == "115", response.text
    assert_still_serving(server)


@FUZZ
@given(
    start=st.sampled_from([b"", b"POST /predict/echo HTTP/1.1\r\n", b"GET / HTTP/1.1\r\nHost: x\r\n"]),
    noise=st.binary(max_size=200),
    reset=st.booleans(),
)
def test_random_bytes_then_hanging_up_never_hurt_the_server(
    server: ServerProcess, start: bytes, noise: bytes, reset: bool
) -> None:
    with connect(server) as sock:
        sock.sendall(start + noise)
        if reset:  # close with RST, mid-request
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:  # half-close: the server sees the end of the request stream
            sock.shutdown(socket.SHUT_WR)
            received = read_to_close(sock)
            if received:
                status, _ = parse_head(received.split(b"\r\n\r\n", 1)[0])
                assert status < 500, received[:300]
    assert_still_serving(server)


# --- the access log, as written --------------------------------------------------------------


def wait_for_text(path: Path, text: str, timeout_s: float = 10) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        content = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in {path} within {timeout_s} s")


def test_a_forged_module_name_writes_one_escaped_line_to_the_log_file_and_stderr(
    server: ServerProcess,
) -> None:
    target = "/predict/x%0a2026-01-01T00:00:00.000Z%20access%20fake%20line%1b[2J"
    answer = exchange(server, build("POST", target, b"{}", extra=(b"X-Request-ID: forged-1",)))
    assert (
        answer.status == 404
        and answer.envelope()["msg"]
        == "Module x\n2026-01-01T00:00:00.000Z access fake line\x1b[2J is not available."
    )
    access_log = server.hub_home / "log" / f"serving_{server.port}.access.log"
    for written in (
        wait_for_text(access_log, "id=forged-1"),
        wait_for_text(server.stderr_path, "id=forged-1"),
    ):
        [line] = [line for line in written.splitlines() if "forged-1" in line or "fake line" in line]
        assert '"POST /predict/x\\x0a2026-01-01T00:00:00.000Z access fake line\\x1b[2J" 404 ' in line
        assert "\x1b" not in written


# --- connections that never finish -----------------------------------------------------------


def closed_by_server_within(sock: socket.socket, timeout_s: float) -> bool:
    """Whether the server closes ``sock`` (EOF or reset) within ``timeout_s``; what it sent is ignored."""
    sock.settimeout(timeout_s)
    try:
        read_to_close(sock)
    except TimeoutError:
        return False
    return True


def test_twenty_connections_with_half_their_headers_are_closed(strict_server: ServerProcess) -> None:
    half = build("POST", "/predict/echo", b'{"texts": ["a"]}')[:40]
    sockets = [connect(strict_server) for _ in range(20)]
    try:
        for sock in sockets:
            sock.sendall(half)
        assert_still_serving(strict_server)  # the others are served meanwhile
        with ThreadPoolExecutor(20) as pool:
            closed = list(pool.map(lambda sock: closed_by_server_within(sock, 40), sockets))
        assert all(closed), f"{closed.count(False)} of 20 half-sent requests were still open after 40 s"
    finally:
        for sock in sockets:
            sock.close()


def test_a_connection_that_sends_nothing_is_closed(strict_server: ServerProcess) -> None:
    with connect(strict_server) as sock:
        started = time.monotonic()
        assert closed_by_server_within(sock, 40)
        assert time.monotonic() - started >= HEADER_TIMEOUT_S * 0.9


def test_a_body_that_stalls_is_dropped_and_one_that_trickles_is_served(strict_server: ServerProcess) -> None:
    request = build("POST", "/predict/echo", b'{"texts": ["slow"]}')
    with connect(strict_server) as stalled:
        stalled.sendall(request[:-5])
        assert closed_by_server_within(stalled, 40)
    with connect(strict_server) as trickling:
        head, body = request.split(b"\r\n\r\n", 1)
        trickling.sendall(head + b"\r\n\r\n")
        for byte in body:  # slower in all than the body timeout, but never pausing that long
            trickling.sendall(bytes([byte]))
            time.sleep(BODY_TIMEOUT_S * 1.5 / len(body))
        assert_echoed(AnswerReader(trickling).next(), ["slow"])


def test_a_request_that_runs_longer_than_the_deadlines_is_answered(strict_server: ServerProcess) -> None:
    body = json.dumps({"texts": ["late"], "sleep_s": HEADER_TIMEOUT_S + 0.5}).encode()
    assert_echoed(exchange(strict_server, build("POST", "/predict/echo", body)), ["late"])


def test_requests_beyond_max_connections_get_503_and_the_envelope(strict_server: ServerProcess) -> None:
    kept = [connect(strict_server) for _ in range(MAX_CONNECTIONS)]
    try:
        for sock in kept:  # answered and kept alive (uvicorn closes idle kept-alive connections after 5 s)
            sock.sendall(build("GET", "/health", close=False))
            assert AnswerReader(sock).next().status == 200
        refused = exchange(strict_server, build("POST", "/predict/echo", b'{"texts": ["a"]}'))
        assert refused.status == 503 and refused.headers["retry-after"] == "1", refused.describe()
        assert len(refused.headers["x-request-id"]) == 32
        assert refused.envelope()["status"] == "124" and "max_connections" in refused.envelope()["msg"]
    finally:
        for sock in kept:
            sock.close()
    deadline = time.monotonic() + 10
    while exchange(strict_server, build("GET", "/health")).status != 200 and time.monotonic() < deadline:
        time.sleep(0.05)  # until the server has seen them go
    assert_still_serving(strict_server)


def test_the_open_file_limit_is_raised_to_the_hard_limit(strict_server: ServerProcess) -> None:
    soft, hard = psutil.Process(strict_server.process.pid).rlimit(resource.RLIMIT_NOFILE)
    assert hard > LOW_OPEN_FILES and soft == hard
