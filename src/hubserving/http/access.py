"""The access log: one line per prediction request (and per refused request), with its request id.

Lines are formatted on the request path (a few microseconds) and written in batches a few times a
second, to stderr and to ``$HUB_HOME/log/serving_<port>.access.log`` (rotated): per-request
``logging`` calls cost a fifth of the front's throughput. Text lines escape what the client sent
(``logs.escape``): a path cannot forge a line or send a terminal escape to whoever reads the log.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import orjson

from hubserving.logs import escape, rotating_file

FLUSH_INTERVAL_S = 0.25


@dataclass(slots=True)  # not frozen: made for every request, and a frozen one costs 5x to make
class Exchange:
    """One answered request, as the access log shows it."""

    client: str
    method: str
    path: str
    status: int
    seconds: float
    request_id: str
    module: str | None = None  # the served module a prediction request went to
    attempts: int = 1  # workers it was sent to: 2 when its first worker died and it was retried

    def text_line(self, stamp: str) -> str:
        retried = " retried" if self.attempts > 1 else ""
        return (
            f'{stamp} access {self.client} "{escape(self.method)} {escape(self.path)}" {self.status} '
            f"{self.seconds * 1000:.1f}ms id={escape(self.request_id)}{retried}"
        )

    def json_line(self, stamp: str) -> str:
        entry = {
            "time": stamp,
            "logger": "hubserving.access",
            "client": self.client,
            "method": self.method,
            "path": self.path,
            "hub_module": self.module,
            "status": self.status,
            "duration_ms": round(self.seconds * 1000, 2),
            "request_id": self.request_id,
            "attempts": self.attempts,
        }
        return orjson.dumps(entry).decode()  # JSON escapes control characters itself


class AccessLog:
    """Collects access lines and writes them out periodically; ``close()`` writes the rest."""

    def __init__(self, path: Path | None, json_lines: bool = False, stream: TextIO | None = None) -> None:
        """Lines to ``stream`` (default stderr) and to the rotating file ``path`` (none when None)."""
        self.json = json_lines
        self.stream = stream if stream is not None else sys.stderr
        self.file: logging.Handler | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.file = rotating_file(path)
            self.file.setFormatter(logging.Formatter("%(message)s"))
        self.lines: list[str] = []
        self._second = 0
        self._stamp = ""
        self._timer: asyncio.TimerHandle | None = None

    def _timestamp(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int((now - second) * 1000):03d}Z"

    def record(self, exchange: Exchange) -> None:
        """One answered request."""
        stamp = self._timestamp(time.time())
        self.lines.append(exchange.json_line(stamp) if self.json else exchange.text_line(stamp))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_INTERVAL_S, self.flush)

    def flush(self) -> None:
        self._timer = None
        if not self.lines:
            return
        text = "\n".join(self.lines)
        self.lines = []
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stderr must not break serving
        if self.file is not None:
            self.file.handle(logging.makeLogRecord({"msg": text, "levelno": logging.INFO}))

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.flush()
        if self.file is not None:
            self.file.close()
