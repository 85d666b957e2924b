"""The access log: one line per prediction request, with its request id.

Lines are formatted on the request path (a few microseconds) and written in batches a few times a
second, to stderr and to ``$HUB_HOME/log/serving_<port>.access.log`` (rotated): per-request
``logging`` calls cost a fifth of the front's throughput.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import TextIO

import orjson

from hubserving.logs import LogSettings, rotating_file

FLUSH_INTERVAL_S = 0.25


class AccessLog:
    """Collects access lines and writes them out periodically; ``close()`` writes the rest."""

    def __init__(self, settings: LogSettings, stream: TextIO = sys.stderr) -> None:
        self.json = settings.log_format == "json"
        self.stream = stream
        self.file: logging.Handler | None = None
        if settings.directory is not None:
            settings.directory.mkdir(parents=True, exist_ok=True)
            name = settings.file_name.replace(".log", ".access.log")
            self.file = rotating_file(settings.directory / name)
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

    def record(self, client: str, module: str, status: int, seconds: float, request_id: str) -> None:
        """One answered request."""
        stamp = self._timestamp(time.time())
        if self.json:
            entry = {
                "time": stamp,
                "logger": "hubserving.access",
                "client": client,
                "hub_module": module,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "request_id": request_id,
            }
            self.lines.append(orjson.dumps(entry).decode())
        else:
            self.lines.append(
                f'{stamp} access {client} "POST /predict/{module}" {status} '
                f"{seconds * 1000:.1f}ms id={request_id}"
            )
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
