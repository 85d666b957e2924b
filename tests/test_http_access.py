"""The access log and the log handlers: one line per answer, nothing a client sends can forge a
line, and a log that cannot be written never takes a traceback (or the server) with it."""

from __future__ import annotations

import errno
import json
import logging
from pathlib import Path
from urllib.parse import quote

import pytest

from hubserving.logs import escape, rotating_file
from tests.fakes import in_process

FORGED = 'x\n2026-01-01T00:00:00.000Z access 10.0.0.1 "POST /predict/echo" 200 1.0ms id=forged\x1b[2J'


def access_lines(log_dir: Path) -> list[str]:
    return (log_dir / "serving_8866.access.log").read_text(encoding="utf-8").splitlines()


def test_each_prediction_request_is_one_line_with_its_status_and_request_id(tmp_path: Path) -> None:
    with in_process(log_dir=tmp_path) as client:
        client.predict({"texts": ["a"]}, headers={"X-Request-ID": "trace-1"})
        client.predict({"texts": ["a"]}, module="nothere", headers={"X-Request-ID": "trace-2"})
        client.state.access_log.flush()  # type: ignore[union-attr]
        [served, missing] = access_lines(tmp_path)
        assert client.log_stream.getvalue().splitlines() == [served, missing]
    assert ' access 203.0.113.7 "POST /predict/echo" 200 ' in served and served.endswith("id=trace-1")
    assert '"POST /predict/nothere" 404 ' in missing and missing.endswith("id=trace-2")


def test_json_lines_carry_the_module_method_path_and_request_id(tmp_path: Path) -> None:
    with in_process(log_dir=tmp_path, log_format="json") as client:
        client.predict({"texts": ["a"]}, headers={"X-Request-ID": "trace-42"})
    [entry] = [json.loads(line) for line in access_lines(tmp_path)]
    assert entry["request_id"] == "trace-42" and entry["status"] == 200 and entry["hub_module"] == "echo"
    assert entry["method"] == "POST" and entry["path"] == "/predict/echo" and entry["client"] == "203.0.113.7"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_module_name_with_newlines_and_escapes_cannot_forge_a_line(tmp_path: Path, log_format: str) -> None:
    with in_process(log_dir=tmp_path, log_format=log_format) as client:
        answer = client.post("/predict/" + quote(FORGED, safe=""), json={"texts": ["a"]})
        assert answer.status_code == 404
        assert (
            answer.json()["msg"] == f"Module {FORGED} is not available."
        )  # the body may echo it, JSON-escaped
        client.state.access_log.flush()  # type: ignore[union-attr]
        written = {"file": (tmp_path / "serving_8866.access.log").read_text(encoding="utf-8"),
                   "stderr": client.log_stream.getvalue()}  # fmt: skip
    for target, text in written.items():
        assert text.count("\n") == 1 and "\x1b" not in text, f"{target}: {text!r}"
    if log_format == "text":
        assert "/predict/x\\x0a2026-01-01T00:00:00.000Z access" in written["file"]
        assert "\\x1b[2J" in written["file"]
    else:
        assert json.loads(written["file"])["hub_module"] == FORGED


def test_escape_keeps_printable_text_and_escapes_the_rest() -> None:
    assert escape("lac") == "lac" and escape("今天 好") == "今天 好"
    assert escape("a\nb\rc\x1b\x7f\x85") == "a\\x0ab\\x0dc\\x1b\\x7f\\x85"
    assert escape('say "hi" \\ \u2028') == 'say \\"hi\\" \\\\ \\u2028'


def no_descriptor_left() -> None:
    raise OSError(errno.EMFILE, "Too many open files")


def test_a_log_file_that_cannot_be_written_drops_lines_with_one_note_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = rotating_file(tmp_path / "serving.log")
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.close()  # as after a rollover: the file is reopened on the next line, and that fails
    monkeypatch.setattr(handler, "_open", no_descriptor_left)
    for _ in range(3):
        handler.handle(logging.makeLogRecord({"msg": "a line", "levelno": logging.INFO}))
    handler.close()
    errors = capsys.readouterr().err
    assert "Traceback" not in errors and "Logging error" not in errors, errors
    assert errors.count("\n") == 1 and "Too many open files" in errors and "serving.log" in errors
