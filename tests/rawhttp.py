"""HTTP/1.1 over a raw socket, byte for byte: for what only a real server's HTTP layer shows
(paths and headers no client library would send, pipelining, half-sent requests)."""

from __future__ import annotations

import contextlib
import json
import socket
from dataclasses import dataclass
from typing import Any

import pytest

from tests.serverproc import ServerProcess

ANSWER_TIMEOUT_S = 10.0
JSON = b"application/json"


@dataclass(frozen=True)
class Answer:
    """One HTTP response as it came off the socket."""

    status: int
    headers: dict[str, str]
    body: bytes

    def describe(self) -> str:
        return f"HTTP {self.status} {self.headers.get('content-type')!r} {self.body[:300]!r}"

    def envelope(self) -> dict[str, Any]:
        """The ``{"msg", "results", "status"}`` body; fails the test on anything else."""
        assert self.headers.get("content-type") == "application/json", self.describe()
        data = json.loads(self.body)
        assert isinstance(data, dict) and set(data) == {"msg", "results", "status"}, self.describe()
        return data


class AnswerReader:
    """Reads successive responses from one connection; a close, reset or hang fails the test."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _more(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            pytest.fail(f"no answer within {ANSWER_TIMEOUT_S:g} s (received {self.buffer[:200]!r})")
        except ConnectionError as error:
            pytest.fail(f"the connection broke instead of an answer: {error!r}")
        if not chunk:
            pytest.fail(f"the server closed the connection without a whole answer ({self.buffer[:200]!r})")
        self.buffer += chunk

    def next(self, head_only: bool = False) -> Answer:
        """The next final (non-1xx) response."""
        while True:
            while b"\r\n\r\n" not in self.buffer:
                self._more()
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            status, headers = parse_head(head)
            if status >= 200:
                break
        length = 0 if head_only else int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._more()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Answer(status, headers, body)


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    status_line, *lines = head.decode("latin-1").split("\r\n")
    assert status_line.startswith("HTTP/1."), f"not an HTTP response: {head[:200]!r}"
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers


def build(
    method: str,
    target: str | bytes,
    body: bytes = b"",
    content_type: bytes | None = JSON,
    extra: tuple[bytes, ...] = (),
    close: bool = True,
) -> bytes:
    """One HTTP/1.1 request, byte for byte."""
    raw_target = target.encode() if isinstance(target, str) else target
    lines = [method.encode() + b" " + raw_target + b" HTTP/1.1", b"Host: 127.0.0.1"]
    lines += [b"Connection: close"] if close else []
    lines += [b"Content-Length: %d" % len(body)]
    lines += [b"Content-Type: " + content_type] if content_type is not None else []
    return b"\r\n".join([*lines, *extra]) + b"\r\n\r\n" + body


def connect(server: ServerProcess, timeout_s: float = ANSWER_TIMEOUT_S) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout_s)


def exchange(server: ServerProcess, request: bytes) -> Answer:
    """Send one request over a fresh connection and read its answer."""
    with connect(server) as sock:
        sock.sendall(request)
        return AnswerReader(sock).next(head_only=request.startswith(b"HEAD "))


def predict(server: ServerProcess, body: bytes, content_type: bytes | None = JSON) -> Answer:
    return exchange(server, build("POST", "/predict/echo", body, content_type))


def read_to_close(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as a close)."""
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


def assert_envelope_error(answer: Answer, code: str | None = None) -> None:
    """A 4xx whose body is the envelope with a failure code and a message."""
    assert 400 <= answer.status < 500, answer.describe()
    envelope = answer.envelope()
    assert envelope["status"] != "0", answer.describe()
    assert isinstance(envelope["msg"], str) and envelope["msg"], answer.describe()
    if code is not None:
        assert envelope["status"] == code, answer.describe()


def assert_echoed(answer: Answer, texts: list[str]) -> None:
    assert answer.status == 200, answer.describe()
    envelope = answer.envelope()
    assert envelope["status"] == "0" and envelope["msg"] == "", answer.describe()
    assert [result["text"] for result in envelope["results"]] == texts, answer.describe()


def assert_still_serving(server: ServerProcess) -> None:
    """A correct request after the bad ones gets the right result."""
    assert_echoed(predict(server, b'{"texts": ["ok"]}'), ["ok"])
