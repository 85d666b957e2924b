"""``--detach``: the child's stdout and stderr go to two files, read without guessing at log formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubserving.detach import start_detached
from hubserving.paths import HubHome
from tests.serverproc import free_port


def test_a_start_error_is_shown_from_the_childs_stderr(
    hub_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB_HOME", str(hub_home))
    home, port = HubHome(hub_home), free_port()
    home.log_dir.mkdir(parents=True)
    home.detached_errors(port).write_text("{an older run's last line}\n", encoding="utf-8")
    code = start_detached(["serving", "start", "-m", "nosuchmodule", "-p", str(port)], home, port)
    shown = capsys.readouterr()
    assert code == 1
    lines = shown.err.splitlines()
    assert lines[0].startswith("hubserving: error: Module nosuchmodule is not installed")
    assert lines[-1] == (
        f"hubserving: the server exited during start-up (code 1); see {home.detached_errors(port)}"
    )
    assert "older run" not in shown.err and shown.out == ""
    assert "nosuchmodule" in home.detached_errors(port).read_text(encoding="utf-8")
    assert home.detached_output(port).read_text(encoding="utf-8") == ""


def test_hub_home_names_every_log_file(tmp_path: Path) -> None:
    home = HubHome(tmp_path)
    assert home.server_log(8866) == tmp_path / "log" / "serving_8866.log"
    assert home.worker_log(8866, 2) == tmp_path / "log" / "serving_8866.worker2.log"
    assert home.access_log(8866) == tmp_path / "log" / "serving_8866.access.log"
    assert home.detached_output(8866).name == "serving_8866.out"
    assert home.detached_errors(8866).name == "serving_8866.err"
