"""Ray mode on a real two-node Ray cluster (``ray.cluster_utils.Cluster``, one CPU a node).

The cluster, the servers and their clients all run in ``tests/ray_scenarios.py``, inside a network
namespace that holds only loopback (``unshare -n``): there Ray advertises 127.0.0.1, and no traffic
can leave the machine. One cluster serves both phases (about 80 s together): autoscaling first, as
it needs both nodes, then the failover phase, which removes the second node.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_TIMEOUT_S = 300  # about 80 s here; the rest is room for a busy machine
MARKER = "HUBSERVING_RAY_SCENARIO"

pytestmark = pytest.mark.timeout(SCENARIO_TIMEOUT_S + 60)


def _unshare_available() -> bool:
    return shutil.which("unshare") is not None and os.geteuid() == 0


def _kill_marked(marker: str) -> list[int]:
    """Kill every process the scenario left (each carries ``marker`` in its environment)."""
    killed = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.environ().get(MARKER) == marker:
                process.kill()
                killed.append(process.pid)
    return killed


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Run both phases once, in a namespace of their own; their results by phase."""
    if not _unshare_available():
        pytest.fail("the Ray tests need root and unshare (util-linux) to run in a network namespace")
    out = tmp_path_factory.mktemp("ray") / "results.json"
    marker = uuid.uuid4().hex
    inner = (
        f"ip link set lo up && exec {sys.executable} tests/ray_scenarios.py --out {out} autoscale failover"
    )
    command = ["unshare", "-n", "bash", "-c", inner]
    environment = {**os.environ, MARKER: marker}
    try:
        completed = subprocess.run(
            command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=SCENARIO_TIMEOUT_S
        )
    finally:
        leftovers = _kill_marked(marker)
    assert out.exists(), (
        f"the scenario wrote nothing (exit {completed.returncode}):\n{completed.stderr[-4000:]}"
    )
    results: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    results["exit_code"] = completed.returncode
    results["leftover_processes"] = leftovers
    results["stderr_tail"] = completed.stderr[-4000:]
    yield results


def _phase(results: dict[str, Any], name: str) -> dict[str, Any]:
    phase: dict[str, Any] = results[name]
    assert "error" not in phase, f"{phase['error']}\nserver output:\n{phase.get('server_output', '')}"
    return phase


def test_scenario_exits_cleanly_and_leaves_no_process(scenarios: dict[str, Any]) -> None:
    assert scenarios["exit_code"] == 0, scenarios["stderr_tail"]
    assert scenarios["leftover_processes"] == []


def test_autoscaling_goes_to_two_replicas_under_load_and_back_to_one(scenarios: dict[str, Any]) -> None:
    phase = _phase(scenarios, "autoscale")
    assert phase["replicas_idle_before"] == 1
    assert phase["replicas_under_load"] == 2
    assert sorted(phase["nodes_under_load"].values()) == [1, 1]  # one replica on each node
    assert phase["replicas_idle_after"] == 1
    assert phase["load"]["statuses"] == {"200": phase["load"]["requests"]}


def test_two_replicas_one_per_node_give_the_local_answer(scenarios: dict[str, Any]) -> None:
    phase = _phase(scenarios, "failover")
    assert sorted(phase["replicas_per_node"].values()) == [1, 1]
    assert phase["answer_status"] == 200
    assert phase["answer"] == phase["local_answer"]  # the same bytes as local mode's envelope
    assert json.loads(phase["answer"])["results"][0]["word"] == ["今天", "是", "个", "好日子"]


def test_losing_a_node_under_load_costs_no_answer(scenarios: dict[str, Any]) -> None:
    phase = _phase(scenarios, "failover")
    load = phase["load"]
    assert phase["node_removed_after_requests"] > 0
    assert "0" not in load["statuses"], "every request got an answer"
    assert load["statuses"].get("200", 0) >= 0.99 * load["requests"]
    assert phase["after_status"] == 200 and phase["ready_after"] == 200  # the service goes on
    assert list(phase["replicas_after"].values()) == [1]


def test_hub_serving_stop_removes_the_applications(scenarios: dict[str, Any]) -> None:
    for name in ("autoscale", "failover"):
        phase = _phase(scenarios, name)
        assert phase["stop"]["code"] == 0, phase["stop"]["output"]
        assert "PaddleHub Serving will stop." in phase["stop"]["output"]
        assert phase["applications_after_stop"] == []
    assert _phase(scenarios, "failover")["server_exit_code"] == 0
