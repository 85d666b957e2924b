"""Logging for the front and its workers: stderr plus a rotating file under ``$HUB_HOME/log/``.

Each process writes its own file (one writer per file keeps rotation safe). ``json`` puts one
object per line for log shippers. Logging never raises and never prints a traceback of its own:
a line that cannot be written (a full disk, no descriptors left) is dropped with a one-line note.
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
DROPPED_NOTE_EVERY_S = 60.0


@dataclass(frozen=True)
class LogSettings:
    """Where and how one process logs."""

    directory: Path | None
    file_name: str
    log_format: str = "text"
    level: int = logging.INFO


def escape(text: str) -> str:
    """``text`` as it may appear in one text log line: unprintable characters (newlines, ESC ...)
    as ``\\xNN`` / ``\\uNNNN``, and ``\\`` and ``"`` escaped, so a client cannot forge lines or fields."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return text
    return "".join(_escape_character(character) for character in text)


def _escape_character(character: str) -> str:
    if character in '"\\':
        return "\\" + character
    if character.isprintable():
        return character
    code = ord(character)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, pid, message, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{record.msecs:03.0f}Z",
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class NeverRaises(logging.Handler):
    """A handler whose failures drop the line with a one-line note (at most one a minute), never a
    traceback: logging's default prints one for every failed line, and with no descriptors left
    that flood is itself the outage."""

    _noted_at = float("-inf")

    def handleError(self, record: logging.LogRecord) -> None:
        now = time.monotonic()
        if now - self._noted_at < DROPPED_NOTE_EVERY_S:
            return
        self._noted_at = now
        target = getattr(self, "baseFilename", "stderr")
        try:
            sys.stderr.write(
                f"hubserving: log lines are dropped, {target} cannot be written: {sys.exc_info()[1]}\n"
            )
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # stderr itself is gone: nothing left to tell


class QuietStreamHandler(NeverRaises, logging.StreamHandler):  # type: ignore[type-arg]
    """stderr, never raising."""


class QuietRotatingFileHandler(NeverRaises, logging.handlers.RotatingFileHandler):
    """The rotating log file, never raising."""


def rotating_file(path: Path) -> logging.Handler:
    return QuietRotatingFileHandler(path, maxBytes=MAX_LOG_BYTES, backupCount=BACKUPS, encoding="utf-8")


def configure_logging(settings: LogSettings) -> None:
    """Replace the root logger's handlers: stderr and the rotating file."""
    formatter: logging.Formatter = (
        JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    handlers: list[logging.Handler] = [QuietStreamHandler(sys.stderr)]
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
