"""Logging for the front and its workers: stderr plus a rotating file under ``$HUB_HOME/log/``.

Each process writes its own file (one writer per file keeps rotation safe). ``json`` puts one
object per line for log shippers.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import time
from dataclasses import dataclass
from pathlib import Path

MAX_LOG_BYTES = 20 * 1024 * 1024
BACKUPS = 5
TEXT_FORMAT = "%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"


@dataclass(frozen=True)
class LogSettings:
    """Where and how one process logs."""

    directory: Path | None
    file_name: str
    log_format: str = "text"
    level: int = logging.INFO


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, pid, message, and the request id when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{record.msecs:03.0f}Z",
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for key in ("request_id", "hub_module", "status", "duration_ms", "client"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def rotating_file(path: Path) -> logging.Handler:
    return logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_LOG_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )


def configure_logging(settings: LogSettings) -> None:
    """Replace the root logger's handlers: stderr and the rotating file."""
    formatter: logging.Formatter = (
        JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if settings.directory is not None:
        settings.directory.mkdir(parents=True, exist_ok=True)
        handlers.append(rotating_file(settings.directory / settings.file_name))
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(settings.level)
