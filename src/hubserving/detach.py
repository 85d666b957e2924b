"""``hub serving start --detach``: run the server in the background, return once it is ready."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from hubserving.paths import HubHome
from hubserving.pidrecord import read_record

START_TIMEOUT_S = 600.0
POLL_S = 0.2


def output_path(home: HubHome, port: int) -> Path:
    """The detached server's stdout and stderr (its start-up banner, worker output, crashes)."""
    return home.log_dir / f"serving_{port}.out"


def start_detached(argv: list[str], home: HubHome, port: int) -> int:
    """Start ``hub <argv>`` in a new session; wait until its pid record appears or it exits."""
    path = output_path(home, port)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "hubserving", *argv],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,
            env=os.environ.copy(),
        )
    offset = path.stat().st_size
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            print(_new_output(path, offset), file=sys.stderr, end="")
            print(
                f"hubserving: the server exited during start-up (code {code}); log: {path}", file=sys.stderr
            )
            return code or 1
        record = read_record(home, port)
        if record is not None and record.pid == process.pid:
            print(_new_output(path, offset), end="")
            print(f"Running in the background (pid {process.pid}); output in {path}, logs in {home.log_dir}")
            return 0
        time.sleep(POLL_S)
    print(
        f"hubserving: not ready after {START_TIMEOUT_S:.0f} s; it is still starting (pid {process.pid}), "
        f"see {path}",
        file=sys.stderr,
    )
    return 1


def _new_output(path: Path, offset: int) -> str:
    """What the child printed since it started (its banner or its error), without log lines."""
    with path.open("rb") as output:
        output.seek(offset)
        text = output.read().decode("utf-8", "replace")
    return "".join(line for line in text.splitlines(keepends=True) if not _is_log_line(line))


def _is_log_line(line: str) -> bool:
    return line[:4].isdigit() or line.startswith("{")
