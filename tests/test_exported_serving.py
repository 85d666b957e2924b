"""Any exported model folder becomes a service with one command: ``hub serving start -m ./folder``."""

from __future__ import annotations

import json
import shutil
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


SENTA_EXPORT = (
    Path(__file__).resolve().parents[1] / "src" / "hubserving" / "modules" / "senta_bilstm" / "model"
)


def test_the_senta_export_and_a_cv_onnx_model_serve_with_one_command(hub_home: Path, tmp_path: Path) -> None:
    """The issue's two real folders: senta_bilstm's Paddle export and PP-OCR's direction classifier (ONNX)."""
    pytest.importorskip("paddle", reason='paddle is not installed: pip install -e ".[senta]"')
    rapidocr = pytest.importorskip("rapidocr_onnxruntime", reason='the ocr extra is not installed: ".[ocr]"')
    classifier = tmp_path / "ppocr_direction"
    classifier.mkdir()
    models = Path(rapidocr.__file__).parent / "models"
    shutil.copy(models / "ch_ppocr_mobile_v2.0_cls_infer.onnx", classifier / "model.onnx")
    port = free_port()
    args = ["-m", str(SENTA_EXPORT), str(classifier), "-p", str(port)]
    with ServerProcess(args, hub_home, port) as server:
        vocab = (SENTA_EXPORT / "vocab.txt").read_text(encoding="utf-8").splitlines()
        ids = [vocab.index(char) for char in "很好吃" if char in vocab]
        senta = server.post("model", {"inputs": {"ids": [ids], "lengths": [len(ids)]}})
        assert senta.status_code == 200, senta.text
        [probabilities] = next(iter(senta.json()["results"].values()))
        assert len(probabilities) == 2 and abs(sum(probabilities) - 1) < 1e-3
        image = [[[[0.0] * 192 for _ in range(48)] for _ in range(3)]]
        direction = server.post("ppocr_direction", {"inputs": {"x": image}})
        assert direction.status_code == 200, direction.text
        [[upright, flipped]] = next(iter(direction.json()["results"].values()))
        assert abs(upright + flipped - 1) < 1e-3
        names = {m["name"] for m in server.client.get("/modules").json()["modules"]}
        assert names == {"model", "ppocr_direction"}
