"""Run a markdown document's command blocks the way a user pastes them into a terminal.

Every ```bash block of a document runs, in order, in one bash session, in a scratch copy of the
repository with a scratch ``$HUB_HOME``, against the installed project. A marker, an HTML comment on
the line before a block, changes that:

    <!-- doc-test: skip (why) -->    the block is not run; the reason is required
    <!-- doc-test: file PATH -->     the block is PATH's text, exactly (checked, not run)

Inside a block:

- ``hub serving start ...`` without ``--detach`` is what a user runs in a second terminal: it runs in
  the background and the next command waits for its banner. The next ``hub serving start`` or the end
  of the block stops it by pid, with SIGINT as Ctrl+C would, if the block did not stop it itself.
- Lines that begin ``# `` right after a command are its output. JSON is compared as JSON (a number to
  the places shown; an indented line continues it); other lines must each begin a line of the output,
  in order, where ``...`` stands for anything and a run of spaces for any spaces. Output that begins
  ``hubserving: error:`` means the command must fail; every other command must succeed.
- Ports 8866 (the server's) and 8000 (the module index's) become free ports, in the commands, in their
  expected output and in the scratch copy's ``examples/``; ``hub serving start|stop`` without a port
  get the server's.
"""

from __future__ import annotations

import contextlib
import decimal
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPOSITORY = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"<!--\s*doc-test:\s*(?P<kind>skip|file)\b\s*(?P<argument>.*?)\s*-->")
FENCE = re.compile(r"^```(?P<lang>\S*)\s*$")
HEREDOC = re.compile(r"<<-?\s*['\"]?(?P<word>\w+)['\"]?")
SERVER_READY = "is serving"
COMMAND_TIMEOUT_S = 180.0
SERVER_START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0


class DocTestFailure(AssertionError):
    """A documented command did not do what its document says."""


@dataclass
class Command:
    """One command as pasted (continuation lines and heredocs included) and the output shown after it."""

    text: str
    line: int  # in the document, for messages
    expected: list[str] = field(default_factory=list)

    @property
    def tokens(self) -> list[str]:
        try:
            return shlex.split(self.text, comments=True)
        except ValueError:  # a heredoc or an unbalanced quote: not a simple command
            return []

    @property
    def simple(self) -> bool:
        """One command with its arguments: no pipes, lists, redirections or substitutions."""
        return bool(self.tokens) and not re.search(r"[;&|<>`$()]", self.text.split(" #")[0])

    @property
    def starts_server(self) -> bool:
        """A foreground ``hub serving start``: a second terminal's command."""
        tokens = self.tokens
        return self.simple and tokens[:3] == ["hub", "serving", "start"] and "--detach" not in tokens


@dataclass
class Block:
    """A fenced block: its language, where it starts, its marker (kind, argument) and its lines."""

    lang: str
    line: int
    lines: list[str]
    marker: tuple[str, str] | None = None


def read_blocks(markdown: str) -> list[Block]:
    """The fenced blocks of a document, each with the marker on the line before it (if any)."""
    blocks: list[Block] = []
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        previous = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        found = MARKER.search(previous)
        marker = (found["kind"], found["argument"]) if found else None
        blocks.append(Block(opening["lang"], index + 1, lines[index + 1 : end], marker))
        index = end + 1
    return blocks


def parse_commands(block: Block) -> list[Command]:
    """A bash block's commands, each with the ``# `` output lines that follow it."""
    commands: list[Command] = []
    lines = block.lines
    index = 0
    while index < len(lines):
        line = lines[index]
        number = block.line + index + 1
        index += 1
        if not line.strip() or (line.lstrip().startswith("#") and not line.startswith("# ")):
            continue  # blank, or a comment continuing the one above it
        if line.startswith("# "):
            if not commands:
                raise DocTestFailure(f"line {number}: output shown before any command")
            _add_expected(commands[-1], line[2:])
            continue
        text = [line]
        while text[-1].endswith("\\") and index < len(lines):
            text.append(lines[index])
            index += 1
        heredoc = HEREDOC.search(line)
        if heredoc is not None:
            while index < len(lines) and lines[index].strip() != heredoc["word"]:
                text.append(lines[index])
                index += 1
            text.append(lines[index])
            index += 1
        commands.append(Command("\n".join(text), number))
    return commands


def _add_expected(command: Command, text: str) -> None:
    """JSON shown over several lines is one value; lines of text are lines (indented or not)."""
    if text.startswith(" ") and command.expected and command.expected[0].startswith(("{", "[")):
        command.expected[-1] += " " + text.strip()
    else:
        command.expected.append(text)


# --- comparing output -----------------------------------------------------------------------------


def _json_lines(output: str) -> Iterator[object]:
    for line in output.splitlines():
        if line.lstrip().startswith(("{", "[")):
            with contextlib.suppress(ValueError):
                yield json.loads(line)


def same_json(expected: object, actual: object) -> bool:
    """Equal, a number to the places ``expected`` shows (a Decimal, as it was written)."""
    if isinstance(expected, decimal.Decimal):
        places = -int(expected.as_tuple().exponent)
        number = isinstance(actual, int | float) and not isinstance(actual, bool)
        return number and abs(decimal.Decimal(str(actual)) - expected) <= decimal.Decimal(10) ** -places
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(same_json(value, actual[key]) for key, value in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(same_json(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return type(expected) is type(actual) and expected == actual


def line_pattern(expected: str) -> re.Pattern[str]:
    """``...`` is anything, a run of spaces any spaces; the pattern must begin a line of output."""
    parts = [r"\s+".join(map(re.escape, piece.split())) for piece in expected.strip().split("...")]
    return re.compile(r"\s*" + ".*?".join(parts))


def check_output(command: Command, output: str, rewrite: Callable[[str], str]) -> None:
    """Raise DocTestFailure unless ``output`` shows what the document says (``rewrite``: its ports)."""
    if not command.expected:
        return
    expected_lines = [rewrite(line) for line in command.expected]
    shown = "\n".join(expected_lines)
    if shown.lstrip().startswith(("{", "[")):
        wanted = json.loads(shown, parse_float=decimal.Decimal)
        if not any(same_json(wanted, actual) for actual in _json_lines(output)):
            raise DocTestFailure(f"line {command.line}: expected the JSON\n{shown}\ngot:\n{output[-3000:]}")
        return
    lines = output.splitlines()
    position = 0
    for expected in expected_lines:
        pattern = line_pattern(expected)
        found = next((i for i in range(position, len(lines)) if pattern.match(lines[i])), None)
        if found is None:
            raise DocTestFailure(
                f"line {command.line}: `{command.text}` should print, in order,\n{shown}\n"
                f"but no line (from the {position + 1}th on) begins with {expected!r}; it printed:\n"
                f"{output[-3000:]}"
            )
        position = found + 1


# --- the session ----------------------------------------------------------------------------------


@dataclass
class Ports:
    """The test's ports for the documents' 8866 and 8000, and its ``$HUB_HOME`` for the guide's."""

    server: int
    index: int
    home: Path

    def apply(self, text: str) -> str:
        text = re.sub(r"\b8866\b", str(self.server), text)
        text = re.sub(r"\b8000\b", str(self.index), text)
        return text.replace("/tmp/hub-guide", str(self.home))

    def complete(self, command: Command) -> str:
        """The command on the test's ports; ``hub serving start|stop`` naming no port get the server's.
        A ``hub serving`` command loses its comment (a redirection may follow it)."""
        if not command.simple or command.tokens[:2] != ["hub", "serving"]:
            return self.apply(command.text)
        tokens = [self.apply(token) for token in command.tokens]
        named = {"-p", "--port", "-c", "--config"} & set(tokens)
        if tokens[2:3] == ["start"] and not named:
            tokens += ["-p", str(self.server)]
        elif tokens[2:3] == ["stop"] and not named:
            tokens += ["--port", str(self.server)]
        return shlex.join(tokens)


def scratch_copy(target: Path, ports: Ports) -> None:
    """The repository as a fresh clone would have it (tracked and new files), examples on the test's ports."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPOSITORY,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPOSITORY / name
        if source.is_file():
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    for example in [*target.glob("examples/*.py"), *target.glob("examples/*.json")]:
        example.write_text(ports.apply(example.read_text(encoding="utf-8")), encoding="utf-8")


class Session:
    """One bash process that runs a document's commands one after another, like a terminal."""

    def __init__(self, folder: Path, home: Path, ports: Ports) -> None:
        self.folder, self.ports = folder, ports
        self.runs = folder.parent / "runs"
        self.runs.mkdir()
        self.count = 0
        self.servers: list[int] = []  # pids of the foreground starts, as a second terminal holds them
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith(("HUB_", "PYTEST_"))
        }
        bin_dir = str(Path(sys.executable).parent)
        environment.update(
            HUB_HOME=str(home),
            PATH=f"{bin_dir}{os.pathsep}{environment.get('PATH', '')}",
            VIRTUAL_ENV=str(Path(bin_dir).parent),
            COLUMNS="160",  # a usual terminal's width: tables are not wrapped as at 80
            PYTHONUNBUFFERED="1",
        )
        self.bash = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=folder,
            env=environment,
            start_new_session=True,
        )

    def run(self, command: Command) -> None:
        """Run one command and check its exit status and output."""
        if command.tokens[:3] == ["hub", "serving", "start"]:
            self.stop_servers()
        if command.starts_server:
            output = self._start_server(command)
        else:
            status, output = self._run(self.ports.complete(command))
            refused = bool(command.expected) and command.expected[0].startswith("hubserving: error:")
            if (status != 0) != refused:
                wanted = "fail" if refused else "succeed"
                raise DocTestFailure(
                    f"line {command.line}: `{command.text}` should {wanted}; it exited {status}:\n"
                    f"{output[-3000:]}"
                )
        check_output(command, output, self.ports.apply)

    def _paths(self) -> tuple[Path, Path, Path]:
        self.count += 1
        return self.runs / f"{self.count}.sh", self.runs / f"{self.count}.out", self.runs / f"{self.count}.rc"

    def _send(self, line: str) -> None:
        assert self.bash.stdin is not None
        self.bash.stdin.write(line.encode() + b"\n")
        self.bash.stdin.flush()

    def _run(self, text: str) -> tuple[int, str]:
        script, out, rc = self._paths()
        script.write_text(text + "\n", encoding="utf-8")
        self._send(f"source {script} > {out} 2>&1 < /dev/null; echo $? > {rc}.part; mv {rc}.part {rc}")
        deadline = time.monotonic() + COMMAND_TIMEOUT_S
        while not rc.exists():
            if time.monotonic() > deadline or self.bash.poll() is not None:
                raise DocTestFailure(f"`{text}` did not finish in {COMMAND_TIMEOUT_S:.0f} s:\n{_read(out)}")
            time.sleep(0.05)
        return int(rc.read_text()), _read(out)

    def _start_server(self, command: Command) -> str:
        """Start it in the background and wait for its banner (or its end)."""
        _, out, rc = self._paths()
        self._send(f"{self.ports.complete(command)} > {out} 2>&1 < /dev/null & echo $! > {rc}")
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not rc.exists() or not rc.read_text().strip():
            if time.monotonic() > deadline or self.bash.poll() is not None:
                raise DocTestFailure(f"line {command.line}: `{command.text}` was not started")
            time.sleep(0.05)
        pid = int(rc.read_text())
        self.servers.append(pid)
        while SERVER_READY not in _read(out):
            if not _alive(pid) or time.monotonic() > deadline:
                raise DocTestFailure(f"line {command.line}: `{command.text}` did not start:\n{_read(out)}")
            time.sleep(0.1)
        return _read(out)

    def stop_servers(self) -> None:
        """Ctrl+C for each server a second terminal holds; then make sure it is gone."""
        for pid in self.servers:
            _interrupt(pid)
        self.servers.clear()

    def close(self) -> None:
        """Stop what the document left running: its servers, background jobs, detached servers."""
        self.stop_servers()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.bash.pid, signal.SIGKILL)
        self.bash.wait(timeout=10)


def stop_detached(home: Path) -> None:
    """Detached servers the document did not stop (each has a pid record in ``$HUB_HOME/conf``)."""
    for record in (home / "conf").glob("serving_*.json"):
        with contextlib.suppress(ValueError, KeyError, OSError):
            _interrupt(int(json.loads(record.read_text())["pid"]))


def _interrupt(pid: int) -> None:
    try:
        process = psutil.Process(pid)
        family = [process, *process.children(recursive=True)]
        process.send_signal(signal.SIGINT)
    except psutil.NoSuchProcess:
        return
    _, alive = psutil.wait_procs(family, timeout=STOP_TIMEOUT_S)
    for left in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            left.kill()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def run_document(document: Path, scratch: Path, ports: Ports) -> list[str]:
    """Run every bash block of ``document``; return what was skipped and why. Raises DocTestFailure."""
    folder, home = scratch / "clone", ports.home
    scratch_copy(folder, ports)
    skipped: list[str] = []
    session = Session(folder, home, ports)
    try:
        for block in read_blocks(document.read_text(encoding="utf-8")):
            skipped += _run_block(block, session, folder)
    finally:
        session.close()
        stop_detached(home)
    return skipped


def _run_block(block: Block, session: Session, folder: Path) -> list[str]:
    kind, argument = block.marker or ("", "")
    if kind == "file":
        text = (folder / argument).read_text(encoding="utf-8")
        if text.rstrip("\n") != "\n".join(block.lines).rstrip("\n"):
            raise DocTestFailure(f"line {block.line}: the block is not {argument} as it is")
        return []
    if block.lang not in ("bash", "sh", "shell"):
        return []
    if kind == "skip":
        if not argument.strip("() "):
            raise DocTestFailure(f"line {block.line}: a skipped block must say why: doc-test: skip (why)")
        return [f"line {block.line}: {argument}"]
    for command in parse_commands(block):
        session.run(command)
    session.stop_servers()
    return []
