"""Any exported model folder becomes a service with one command: ``hub serving start -m ./folder``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.serverproc import ServerProcess, free_port, run_hub
from tests.test_exported_model import build_onnx

pytest.importorskip("onnxruntime", reason='onnxruntime is not installed: pip install -e ".[exported]"')


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny_model"
    folder.mkdir()
    build_onnx(folder / "model.onnx")
    return folder


def test_a_folder_is_served_under_its_own_name(hub_home: Path, model_folder: Path) -> None:
    port = free_port()
    with ServerProcess(["-m", str(model_folder), "-p", str(port)], hub_home, port) as server:
        answer = server.post("tiny_model", {"inputs": {"x": [[1, 2, 3]], "count": [10]}})
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"] == {"y": [[4.0, 5.0]], "total": [16.0]}
        [described] = server.client.get("/modules").json()["modules"]
        assert described["name"] == "tiny_model"
        assert "x" in json.dumps(described["details"]) and "float32" in json.dumps(described["details"])
        wrong = server.post("tiny_model", {"inputs": {"x": [[1, 2]], "count": [1]}})
        assert wrong.status_code == 400 and "x" in wrong.json()["msg"]


def test_name_flag_and_config_directory(hub_home: Path, model_folder: Path, tmp_path: Path) -> None:
    port = free_port()
    with ServerProcess(
        ["-m", str(model_folder), "--name", "adder", "-p", str(port)], hub_home, port
    ) as server:
        assert server.post("adder", {"inputs": {"x": [[0, 0, 1]], "count": [0]}}).json()["results"][
            "total"
        ] == [1.0]
    port = free_port()
    config = {"port": port, "modules_info": {"summer": {"init_args": {"directory": str(model_folder)}}}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    with ServerProcess(["-c", str(path)], hub_home, port) as server:
        assert server.post("summer", {"inputs": {"x": [[1, 1, 1]], "count": [1]}}).json()["results"][
            "total"
        ] == [4.0]


def test_a_folder_without_a_model_says_what_it_needs(hub_home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_hub(["serving", "start", "-m", str(empty), "-p", str(free_port())], hub_home)
    assert result.returncode != 0 and "module.py" in result.stderr and "*.onnx" in result.stderr
