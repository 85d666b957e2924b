"""Every start mistake exits non-zero with a message that says what to fix."""

from __future__ import annotations

import json
import re
import shutil
import socket
from pathlib import Path

import pytest

from tests.serverproc import free_port, run_hub


def test_no_modules_and_no_config(hub_home: Path) -> None:
    result = run_hub(["serving", "start"], hub_home)
    assert result.returncode != 0
    assert "nothing to serve: give modules with -m" in result.stderr


def test_unknown_module_names_it_and_lists_installed(hub_home: Path) -> None:
    result = run_hub(["serving", "start", "-m", "nosuchmodule", "-p", str(free_port())], hub_home)
    assert result.returncode != 0
    assert "Module nosuchmodule is not installed" in result.stderr
    assert "echo==1.0.0" in result.stderr and "lac==" in result.stderr


def test_unknown_version_lists_the_versions_there_are(hub_home: Path) -> None:
    result = run_hub(["serving", "start", "-m", "versioned==3.0", "-p", str(free_port())], hub_home)
    assert result.returncode != 0
    assert "versioned==3.0 is not installed; installed versions of versioned: 1.0.0, 1.2.0" in result.stderr


def test_missing_config_file(hub_home: Path, tmp_path: Path) -> None:
    result = run_hub(["serving", "start", "-c", str(tmp_path / "none.json")], hub_home)
    assert result.returncode != 0 and "none.json does not exist" in result.stderr


def test_malformed_config_names_the_key(hub_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"modules_info": {"echo": {"predict_args": "x"}}}), encoding="utf-8")
    result = run_hub(["serving", "start", "-c", str(path)], hub_home)
    assert result.returncode != 0 and "modules_info.echo.predict_args must be an object" in result.stderr


def test_port_taken(hub_home: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_hub(["serving", "start", "-m", "echo", "-p", str(port)], hub_home)
    assert result.returncode != 0
    assert f"Port {port} is occupied, please change it." in result.stderr


def test_module_that_fails_to_import_shows_its_own_traceback(hub_home: Path) -> None:
    result = run_hub(["serving", "start", "-m", "broken", "-p", str(free_port())], hub_home)
    assert result.returncode == 1
    assert "a module failed to load" in result.stderr
    assert "No module named 'a_package_that_does_not_exist'" in result.stderr
    assert not list((hub_home / "conf").glob("serving_*.json")) if (hub_home / "conf").exists() else True


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has a GPU")
def test_use_gpu_without_a_gpu_says_so(hub_home: Path) -> None:
    result = run_hub(["serving", "start", "-m", "echo", "--use_gpu", "-p", str(free_port())], hub_home)
    assert result.returncode != 0 and "no NVIDIA GPU" in result.stderr and "drop --use_gpu" in result.stderr


def test_bad_gpu_list(hub_home: Path) -> None:
    result = run_hub(["serving", "start", "-m", "echo", "--use_gpu", "--gpu", "0,a"], hub_home)
    assert result.returncode != 0 and re.search(r"--gpu: [\"']a[\"'] is not a card number", result.stderr)


def test_bad_workers(hub_home: Path) -> None:
    result = run_hub(["serving", "start", "-m", "echo", "--use_multiprocess", "--workers", "0"], hub_home)
    assert result.returncode != 0 and "--workers must be a positive integer" in result.stderr


def test_stop_without_a_server_on_that_port(hub_home: Path) -> None:
    port = free_port()
    result = run_hub(["serving", "stop", "--port", str(port)], hub_home)
    assert result.returncode != 0
    assert result.stdout.strip() == (
        f"PaddleHub Serving config file is not exists, please confirm the port "
        f"[{port}] you specified is correct."
    )


def test_version_flag(hub_home: Path) -> None:
    result = run_hub(["--version"], hub_home)
    assert result.returncode == 0 and result.stdout.startswith("hubserving ")
