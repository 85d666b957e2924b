"""What a new user meets first: a start that fails says why, in the logs too; the banner of a detached
server says how to stop it; the generic exported-model module asks for its folder."""

from __future__ import annotations

from pathlib import Path

from hubserving.paths import HubHome
from tests.serverproc import free_port, run_hub

CAUSE = "ModuleNotFoundError: No module named 'a_package_that_does_not_exist'"


def test_a_start_that_fails_says_why_first_then_the_traceback_in_every_log(hub_home: Path) -> None:
    port = free_port()
    argv = ["serving", "start", "-m", "broken", "-p", str(port), "--use_multiprocess", "--workers", "2"]
    result = run_hub(argv, hub_home)
    assert result.returncode == 1
    assert f"a module failed to load: broken: {CAUSE}" in result.stderr
    assert result.stderr.count("Traceback") == 1, result.stderr  # told once, not once per worker
    assert "BrokenPipeError" not in result.stderr and "starting a new one" not in result.stderr
    home = HubHome(hub_home)
    logs = [home.server_log(port), home.worker_log(port, 0), home.worker_log(port, 1)]
    firsts = ["a module failed to load: broken: ", "broken failed to load: ", "broken failed to load: "]
    for log, first in zip(logs, firsts, strict=True):
        lines = log.read_text(encoding="utf-8").splitlines()
        assert lines[0].endswith(first + CAUSE), (log, lines)
        assert lines[1] == "Traceback (most recent call last):", (log, lines)
        assert 'module.py", line 3, in <module>' in lines[2], (log, lines)  # the module's own frame first
        assert not any("starting a new one" in line for line in lines)


def test_a_detached_banner_says_how_to_stop_it_without_ctrl_c(hub_home: Path) -> None:
    port = free_port()
    started = run_hub(["serving", "start", "-m", "echo", "-p", str(port), "--detach"], hub_home)
    try:
        assert started.returncode == 0, started.stderr
        assert f"Stop: `hub serving stop --port {port}`" in started.stdout
        assert "Ctrl+C" not in started.stdout
    finally:
        assert run_hub(["serving", "stop", "--port", str(port)], hub_home).returncode == 0


def test_the_exported_model_module_alone_asks_for_a_folder(hub_home: Path) -> None:
    result = run_hub(["serving", "start", "-m", "exported_model", "-p", str(free_port())], hub_home)
    assert result.returncode == 1
    assert (
        "exported_model: exported_model serves a folder of exported model files: start it with "
        "hub serving start -m ./<folder>, or give init_args.model_dir in a config"
    ) in result.stderr
    assert "Traceback" not in result.stderr and "TypeError" not in result.stderr
