"""Ray mode on a real two-node Ray cluster, for tests/test_ray_cluster.py (also runnable by hand).

Run inside a network namespace that holds only loopback, so that Ray advertises 127.0.0.1:

    unshare -n bash -c 'ip link set lo up && exec python tests/ray_scenarios.py --out r.json PHASE...'

Starts ``ray.cluster_utils.Cluster`` (two nodes of one CPU each), then for each phase a real
``hub serving start -c config.json`` on that cluster, drives it over HTTP, stops it with
``hub serving stop``, and writes what it saw to ``--out`` as JSON (one object per phase). Everything
it starts is stopped before it exits, whatever happens.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BODY = {"text": ["今天是个好日子", "天气预报说今天要下雨"]}
NAMESPACE = "hubtest"
START_TIMEOUT_S = 180.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout_s: float, interval_s: float = 0.25) -> float:
    """Seconds until ``condition`` held; raise TimeoutError after ``timeout_s``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"not within {timeout_s} s")
        time.sleep(interval_s)
    return round(time.monotonic() - started, 2)


def hub(*args: str) -> list[str]:
    return [sys.executable, "-m", "hubserving", *args]


class Server:
    """``hub serving start -c config.json`` on the cluster; its output goes to a file."""

    def __init__(self, config: dict[str, Any], home: Path) -> None:
        self.port = int(config["port"])
        self.home = home
        self.url = f"http://127.0.0.1:{self.port}"
        path = home / f"config_{self.port}.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        self.output_path = home / f"server_{self.port}.log"
        with self.output_path.open("wb") as output:
            self.process = subprocess.Popen(
                hub("serving", "start", "-c", str(path)),
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "HUB_HOME": str(home)},
            )
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"the server exited ({self.process.returncode}):\n{self.output()}")
        try:
            return self.client.get("/ready").status_code == 200
        except httpx.TransportError:
            return False

    def replicas(self) -> dict[str, Any]:
        modules = self.client.get("/modules").json()["modules"]
        return {module["name"]: module for module in modules}

    def output(self) -> str:
        return self.output_path.read_text(encoding="utf-8", errors="replace")[-6000:]

    def stop_command(self) -> subprocess.CompletedProcess[str]:
        """``hub serving stop -p PORT``, as a user runs it."""
        return subprocess.run(
            hub("serving", "stop", "-p", str(self.port)),
            capture_output=True,
            text=True,
            timeout=90,
            env={**os.environ, "HUB_HOME": str(self.home)},
        )

    def kill(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@dataclass
class Load:
    """``clients`` threads posting one request after another until stopped; every outcome kept."""

    url: str
    clients: int = 4
    statuses: list[int] = field(default_factory=list)  # 0: no answer (a transport error)
    stopping: threading.Event = field(default_factory=threading.Event)

    def _post_until_stopped(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while not self.stopping.is_set():
                try:
                    self.statuses.append(client.post("/predict/lac", json=BODY).status_code)
                except httpx.TransportError:
                    self.statuses.append(0)

    @contextlib.contextmanager
    def running(self) -> Iterator[Load]:
        threads = [threading.Thread(target=self._post_until_stopped) for _ in range(self.clients)]
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self.stopping.set()
            for thread in threads:
                thread.join(timeout=90)

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for status in self.statuses:
            counts[str(status)] = counts.get(str(status), 0) + 1
        return {"requests": len(self.statuses), "statuses": counts}


def server_config(port: int, address: str, replicas: object) -> dict[str, Any]:
    lac = {"replicas": replicas, "resources": {"num_cpus": 1}}
    return {
        "modules_info": {"lac": lac},
        "port": port,
        "host": "127.0.0.1",
        "timeout": 60,
        "ray": {"address": address, "namespace": NAMESPACE},
    }


def local_answer() -> bytes:
    """The envelope local mode gives: hubserving's own loader and handler, called in this process."""
    import hubserving
    from hubserving.runtime.messages import ModuleSpec, PredictCall
    from hubserving.runtime.worker import build_handler

    directory = Path(hubserving.__file__).parent / "modules" / "lac"
    handler = build_handler(ModuleSpec("lac", directory), use_gpu=False)
    return handler.handle([PredictCall(1, "lac", json.dumps(BODY).encode())])[0].body


def serve_applications() -> list[str]:
    from ray import serve

    return sorted(serve.status().applications)


def ready_replicas(server: Server) -> int:
    return int(server.replicas()["lac"]["workers"])


def replicas_per_node(server: Server) -> dict[str, int]:
    """Running lac replicas by node, from ``GET /modules``."""
    nodes: dict[str, int] = {}
    for replica in server.replicas()["lac"]["worker_processes"]:
        if replica["state"] == "ready":
            nodes[replica["node_id"]] = nodes.get(replica["node_id"], 0) + 1
    return nodes


def phase_autoscale(address: str, home: Path) -> dict[str, Any]:
    """min 1, max 2: load takes lac to 2 replicas, idleness back to 1."""
    replicas = {
        "min": 1,
        "max": 2,
        "target_ongoing_requests": 1,
        "upscale_delay_s": 0.5,
        "downscale_delay_s": 2,
        "metrics_interval_s": 0.5,
        "look_back_period_s": 1,
    }
    server = Server(server_config(free_port(), address, replicas), home)
    result: dict[str, Any] = {}
    try:
        result["start_s"] = wait_for(server.ready, START_TIMEOUT_S)
        result["replicas_idle_before"] = ready_replicas(server)
        load = Load(server.url)
        with load.running():
            result["upscale_s"] = wait_for(lambda: ready_replicas(server) == 2, 90, 0.5)
            result["replicas_under_load"] = ready_replicas(server)
            result["nodes_under_load"] = replicas_per_node(server)
        result["load"] = load.summary()
        result["downscale_s"] = wait_for(lambda: ready_replicas(server) == 1, 90, 0.5)
        result["replicas_idle_after"] = ready_replicas(server)
        stop = server.stop_command()
        result["stop"] = {"code": stop.returncode, "output": stop.stdout + stop.stderr}
        result["applications_after_stop"] = serve_applications()
    except Exception:
        result["error"] = traceback.format_exc()
        result["server_output"] = server.output()
    finally:
        server.kill()
    return result


def phase_failover(address: str, home: Path, remove_second_node: Callable[[], None]) -> dict[str, Any]:
    """2 replicas, one per node: the local answer; the second node lost under load; stop."""
    server = Server(server_config(free_port(), address, 2), home)
    result: dict[str, Any] = {}
    try:
        result["start_s"] = wait_for(server.ready, START_TIMEOUT_S)
        # /ready is 200 with one running replica; the second may still be starting on the other node.
        wait_for(lambda: ready_replicas(server) == 2, START_TIMEOUT_S, 0.5)
        result["replicas_per_node"] = replicas_per_node(server)
        answer = server.client.post("/predict/lac", json=BODY)
        result["answer_status"] = answer.status_code
        result["answer"] = answer.content.decode()
        result["local_answer"] = local_answer().decode()
        load = Load(server.url)
        with load.running():
            time.sleep(2)
            before = len(load.statuses)
            remove_second_node()
            result["node_removed_after_requests"] = before
            time.sleep(8)
        result["load"] = load.summary()
        after = server.client.post("/predict/lac", json=BODY)
        result["after_status"] = after.status_code
        result["ready_after"] = server.client.get("/ready").status_code
        result["replicas_after"] = replicas_per_node(server)
        stop = server.stop_command()
        result["stop"] = {"code": stop.returncode, "output": stop.stdout + stop.stderr}
        result["server_exit_code"] = server.process.wait(timeout=60)
        result["applications_after_stop"] = serve_applications()
    except Exception:
        result["error"] = traceback.format_exc()
    finally:
        result["server_output"] = server.output()
        server.kill()
    return result


def run(phases: list[str], out: Path) -> None:
    import ray
    from ray.cluster_utils import Cluster

    started = time.monotonic()
    results: dict[str, Any] = {}
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False, "object_store_memory": 100 << 20},
    )
    try:
        second = cluster.add_node(num_cpus=1, object_store_memory=100 << 20)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, namespace=NAMESPACE, log_to_driver=False)
        results["cluster_s"] = round(time.monotonic() - started, 1)
        log(f"cluster up at {cluster.address}")
        with tempfile.TemporaryDirectory(prefix="hubserving-ray-") as folder:
            home = Path(folder)
            for phase in phases:
                log(f"phase {phase}")
                phase_started = time.monotonic()
                if phase == "autoscale":
                    results[phase] = phase_autoscale(cluster.address, home)
                elif phase == "failover":
                    results[phase] = phase_failover(
                        cluster.address, home, lambda: cluster.remove_node(second)
                    )
                results[phase]["phase_s"] = round(time.monotonic() - phase_started, 1)
                out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    finally:
        ray.shutdown()
        cluster.shutdown()
        results["total_s"] = round(time.monotonic() - started, 1)
        out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the results (JSON)")
    parser.add_argument("phases", nargs="+", choices=["autoscale", "failover"])
    args = parser.parse_args()
    run(args.phases, args.out)


if __name__ == "__main__":
    main()
