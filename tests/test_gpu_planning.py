"""GPU placement on a CPU machine: a fake nvidia-smi lists cards; each worker must see only its own."""

from __future__ import annotations

import json
import os
import re
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from hubserving.config import config_from_json
from hubserving.errors import ConfigError
from hubserving.runtime.devices import plan_devices
from tests.serverproc import ServerProcess, free_port


@pytest.fixture
def fake_gpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ``nvidia-smi`` on PATH that lists two cards, as the real one does with -L."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "nvidia-smi"
    script.write_text(
        "#!/bin/sh\necho 'GPU 0: NVIDIA Fake (UUID: GPU-0)'\necho 'GPU 1: NVIDIA Fake (UUID: GPU-1)'\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def ask_together(url: str, workers: int) -> list[dict]:
    """One request per worker at the same time, each holding its worker: every worker answers one."""

    def ask(_: int) -> dict:
        with httpx.Client(base_url=url, timeout=30) as client:
            return dict(client.post("/predict/devices", json={"hold_s": 0.5}).json()["results"])

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(ask, range(workers)))


@pytest.mark.usefixtures("fake_gpus")
def test_one_worker_per_card_each_sees_its_own(hub_home: Path) -> None:
    port = free_port()
    args = ["-m", "devices", "-p", str(port), "--use_gpu", "--gpu", "0,1", "--use_multiprocess"]
    with ServerProcess(args, hub_home, port) as server:
        assert len(server.family()) == 3  # the front and one worker per card; --use_multiprocess ignored

        reports = ask_together(server.url, 2)
        cards = {report["pid"]: report["cuda_visible_devices"] for report in reports}
        assert sorted(cards.values()) == ["0", "1"]
        assert all(report["use_gpu"] is True and report["omp_num_threads"] == "1" for report in reports)
        assert "GPU, cards 0,1" in server.client.get("/modules").json()["server"]["mode"]


@pytest.mark.usefixtures("fake_gpus")
def test_a_card_that_is_not_there_is_refused(hub_home: Path) -> None:
    from tests.serverproc import run_hub

    result = run_hub(["serving", "start", "-m", "devices", "--use_gpu", "--gpu", "0,3"], hub_home)
    assert result.returncode != 0 and "card(s) [3]" in result.stderr and "[0, 1]" in result.stderr


def test_cards_repeat_for_workers_per_card() -> None:
    assert plan_devices((0, 1), 2) == ("0", "1", "0", "1")
    assert plan_devices((0, 0), 1) == ("0", "0")  # --gpu 0,0: two workers share card 0
    config = config_from_json({"modules_info": {"a": {}}, "use_gpu": True, "gpu": "0,0"})
    assert config.worker_count == 2 and config.gpu == (0, 0)
    with pytest.raises(ConfigError, match=re.escape('modules_info.a.device must be "cpu" or "gpu"')):
        config_from_json({"modules_info": {"a": {"device": "tpu"}}})


@pytest.mark.usefixtures("fake_gpus")
def test_workers_share_cards_and_a_cpu_module_sees_none(hub_home: Path, tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config.json"
    settings = {
        "modules_info": {"devices": {}, "echo": {"device": "cpu"}},
        "use_gpu": True,
        "gpu": "0,1",
        "workers_per_gpu": 2,
        "port": port,
    }
    config.write_text(json.dumps(settings), encoding="utf-8")
    with ServerProcess(["-c", str(config)], hub_home, port) as server:
        assert len(server.family()) == 6  # the front, 2 cards x 2 workers for devices, 1 CPU worker for echo
        modules = {m["name"]: m for m in server.client.get("/modules").json()["modules"]}
        devices = sorted(w["device"] for w in modules["devices"]["worker_processes"])
        assert devices == ["gpu:0", "gpu:0", "gpu:1", "gpu:1"]
        assert [w["device"] for w in modules["echo"]["worker_processes"]] == ["cpu"]
        seen = {report["pid"]: report["cuda_visible_devices"] for report in ask_together(server.url, 4)}
        assert sorted(seen.values()) == ["0", "0", "1", "1"]
        banner = server.stdout_path.read_text()
        assert "4 workers on gpu:0, gpu:1" in banner and "1 worker on cpu" in banner


@pytest.mark.parametrize(
    ("module", "init_args", "says"),
    [
        ("lac", {"use_gpu": True}, "install paddlepaddle-gpu in its place"),
        ("efficientnet_lite0_imagenet", {"use_gpu": True}, "install torch with CUDA"),
    ],
)
def test_a_gpu_module_without_a_gpu_runtime_says_what_to_install(
    module: str, init_args: dict, says: str
) -> None:
    from hubserving.module.finder import BUILTIN_DIR
    from hubserving.module.loader import load_module

    with pytest.raises(RuntimeError, match=says) as raised:
        load_module(BUILTIN_DIR / module, init_args)
    assert '"device": "cpu"' in str(raised.value)
