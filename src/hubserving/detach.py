"""``hub serving start --detach``: run the server in the background, return once it is ready.

Ready means its pid record names it (a server writes the record once every worker is ready). The
server's stdout (its banner) and stderr (log lines and errors) go to two files, so telling them apart
never depends on how log lines look: the banner is shown on success, the end of stderr on failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from enum import Enum
from pathlib import Path

from hubserving.paths import HubHome
from hubserving.pidrecord import read_record

START_TIMEOUT_S = 600.0
POLL_S = 0.2
ERROR_TAIL_LINES = 40


class StartState(Enum):
    READY = "ready"
    EXITED = "exited"
    STILL_STARTING = "still_starting"


def start_detached(argv: list[str], home: HubHome, port: int) -> int:
    """Start ``hub <argv>`` in a new session; wait until its pid record appears or it exits."""
    out_path, err_path = home.detached_output(port), home.detached_errors(port)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_from, err_from = _size(out_path), _size(err_path)
    process = _spawn(argv, out_path, err_path)
    state = _wait_started(process, home, port, START_TIMEOUT_S)
    print(_read_from(out_path, out_from), end="")
    if state is StartState.READY:
        print(
            f"Running in the background (pid {process.pid}); output in {out_path} and {err_path.name}, "
            f"logs in {home.log_dir}"
        )
        return 0
    print(_tail(_read_from(err_path, err_from)), file=sys.stderr, end="")
    if state is StartState.EXITED:
        code = process.returncode
        print(f"hubserving: the server exited during start-up (code {code}); see {err_path}", file=sys.stderr)
        return code or 1
    print(
        f"hubserving: not ready after {START_TIMEOUT_S:.0f} s; it is still starting (pid {process.pid}), "
        f"see {err_path}",
        file=sys.stderr,
    )
    return 1


def _spawn(argv: list[str], out_path: Path, err_path: Path) -> subprocess.Popen[bytes]:
    with out_path.open("ab") as output, err_path.open("ab") as errors:
        return subprocess.Popen(
            [sys.executable, "-m", "hubserving", *argv],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=errors,
            start_new_session=True,
            env=os.environ.copy(),
        )


def _wait_started(process: subprocess.Popen[bytes], home: HubHome, port: int, timeout_s: float) -> StartState:
    """READY once the pid record names ``process``; EXITED if it ends first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return StartState.EXITED
        record = read_record(home, port)
        if record is not None and record.pid == process.pid:
            return StartState.READY
        time.sleep(POLL_S)
    return StartState.STILL_STARTING


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _read_from(path: Path, offset: int) -> str:
    """What the child wrote to ``path`` since it started."""
    with path.open("rb") as stream:
        stream.seek(offset)
        return stream.read().decode("utf-8", "replace")


def _tail(text: str) -> str:
    lines = text.splitlines(keepends=True)
    return "".join(lines[-ERROR_TAIL_LINES:])
