"""GPU placement on a CPU machine: a fake nvidia-smi lists cards; each worker must see only its own."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

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


@pytest.mark.usefixtures("fake_gpus")
def test_one_worker_per_card_each_sees_its_own(hub_home: Path) -> None:
    port = free_port()
    args = ["-m", "devices", "-p", str(port), "--use_gpu", "--gpu", "0,1", "--use_multiprocess"]
    with ServerProcess(args, hub_home, port) as server:
        assert len(server.family()) == 3  # the front and one worker per card; --use_multiprocess ignored

        def ask(_: int) -> dict:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                return dict(client.post("/predict/devices", json={}).json()["results"])

        with ThreadPoolExecutor(8) as pool:
            reports = list(pool.map(ask, range(40)))
        cards = {report["pid"]: report["cuda_visible_devices"] for report in reports}
        assert sorted(cards.values()) == ["0", "1"]
        assert all(report["use_gpu"] is True and report["omp_num_threads"] == "1" for report in reports)
        assert "GPU, cards 0,1" in server.client.get("/modules").json()["server"]["mode"]


@pytest.mark.usefixtures("fake_gpus")
def test_a_card_that_is_not_there_is_refused(hub_home: Path) -> None:
    from tests.serverproc import run_hub

    result = run_hub(["serving", "start", "-m", "devices", "--use_gpu", "--gpu", "0,3"], hub_home)
    assert result.returncode != 0 and "card(s) [3]" in result.stderr and "[0, 1]" in result.stderr
