"""Operations without downtime: a worker pool per module, a killed worker or a reload costs no request,
modules loaded and unloaded at run time, SIGHUP and --reload."""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from tests.serverproc import ServerProcess, free_port, run_hub

FIXTURES = Path(__file__).parent / "fixtures" / "modules"


def wait_until(condition: Callable[[], bool], timeout_s: float = 60, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s} s")
        time.sleep(0.05)


def worker_pids(server: ServerProcess, module: str) -> set[int]:
    modules = {m["name"]: m for m in server.client.get("/modules").json()["modules"]}
    return {w["pid"] for w in modules[module]["worker_processes"] if w["state"] == "ready"}


@contextmanager
def steady_load(url: str, clients: int = 4, module: str = "echo") -> Iterator[list[httpx.Response]]:
    """``clients`` threads posting one request after another until the block ends; every answer kept."""
    answers: list[httpx.Response] = []
    stop = threading.Event()

    def post_until_stopped(index: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while not stop.is_set():
                answers.append(
                    client.post(f"/predict/{module}", json={"texts": [f"c{index}"], "sleep_s": 0.01})
                )

    threads = [threading.Thread(target=post_until_stopped, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield answers
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=90)


def failed(answers: list[httpx.Response]) -> list[str]:
    return [f"{r.status_code} {r.text[:200]}" for r in answers if r.status_code != 200]


def test_each_module_has_its_own_workers(tmp_path: Path, hub_home: Path) -> None:
    port = free_port()
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "modules_info": {"lac": {"workers": 2}, "ch_pp-ocrv4": {"workers": 1}},
                "use_multiprocess": True,
                "admin": True,
                "port": port,
                "host": "127.0.0.1",
            }
        )
    )
    with ServerProcess(["-c", str(config)], hub_home, port) as server:
        assert len(server.family()) == 4  # the front, lac's two workers, OCR's one
        modules = {m["name"]: m for m in server.client.get("/modules").json()["modules"]}
        assert modules["lac"]["workers"] == 2 and modules["ch_pp-ocrv4"]["workers"] == 1
        lac_worker = modules["lac"]["worker_processes"][0]
        assert lac_worker["state"] == "ready" and lac_worker["restarts"] == 0 and lac_worker["memory_mb"] > 50
        assert {p.pid for p in server.family()[1:]} == {
            w["pid"] for m in modules.values() for w in m["worker_processes"]
        }
        status = run_hub(["serving", "status"], hub_home)
        assert f"lac: pid {lac_worker['pid']} ready, 0 restarts" in status.stdout


def test_a_killed_worker_and_a_reload_cost_no_request(hub_home: Path) -> None:
    port = free_port()
    args = ["-m", "echo", "-p", str(port), "--use_multiprocess", "--workers", "2"]
    with ServerProcess(args, hub_home, port) as server, steady_load(server.url) as answers:
        wait_until(lambda: len(answers) > 50, what="traffic")
        first = worker_pids(server, "echo")
        psutil.Process(min(first)).kill()
        wait_until(
            lambda: len(worker_pids(server, "echo") - first) == 1, what="the killed worker's replacement"
        )
        before_reload = worker_pids(server, "echo")
        result = run_hub(["serving", "reload", "-p", str(port)], hub_home, timeout_s=120)
        assert result.returncode == 0, result.stderr
        assert "Reloaded echo" in result.stdout
        assert not worker_pids(server, "echo") & before_reload  # every worker replaced
        count = len(answers)
        wait_until(lambda: len(answers) > count + 50, what="traffic after the reload")
    assert len(answers) > 100 and failed(answers) == []


def test_a_request_whose_worker_dies_is_answered_by_another(hub_home: Path) -> None:
    port = free_port()
    with ServerProcess(["-m", "echo", "-p", str(port)], hub_home, port) as server:
        [victim] = worker_pids(server, "echo")
        answer: list[httpx.Response] = []
        thread = threading.Thread(
            target=lambda: answer.append(server.post("echo", {"texts": ["a"], "sleep_s": 3}))
        )
        thread.start()
        wait_until(lambda: b'hub_queue_depth{module="echo"} 1.0' in server.client.get("/metrics").content)
        psutil.Process(victim).kill()
        thread.join(timeout=60)
        assert answer[0].status_code == 200, answer[0].text  # sent again, to the replacement
        assert answer[0].json()["results"][0]["pid"] != victim
        metrics = server.client.get("/metrics").text
        assert 'hub_retried_requests_total{module="echo"} 1.0' in metrics
        access = server.hub_home / "log" / f"serving_{port}.access.log"
        wait_until(lambda: access.exists() and " retried" in access.read_text(), 10, "the access line")
        assert '"POST /predict/echo" 200' in next(
            line for line in access.read_text().splitlines() if "retried" in line
        )


def copy_module(tmp_path: Path, prefix: str) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir(exist_ok=True)
    text = (FIXTURES / "echo" / "module.py").read_text()
    (folder / "module.py").write_text(text.replace("self.prefix = prefix", f'self.prefix = "{prefix}"'))
    return folder


def test_a_reload_picks_up_changed_code_and_a_broken_one_keeps_the_old_workers(
    tmp_path: Path, hub_home: Path
) -> None:
    folder = copy_module(tmp_path, "v1:")
    port = free_port()
    with ServerProcess(["-m", str(folder), "-p", str(port)], hub_home, port) as server:
        assert server.post("mine", {"texts": ["a"]}).json()["results"][0]["text"] == "v1:a"
        (folder / "module.py").write_text(
            "raise RuntimeError('half-written module')\n" + (folder / "module.py").read_text()
        )
        broken = run_hub(["serving", "reload", "-p", str(port), "-m", "mine"], hub_home, timeout_s=120)
        assert broken.returncode == 1
        assert "half-written module" in broken.stderr and "the running workers go on serving" in broken.stderr
        assert server.post("mine", {"texts": ["a"]}).json()["results"][0]["text"] == "v1:a"
        copy_module(tmp_path, "v2:")
        server.process.send_signal(signal.SIGHUP)
        wait_until(lambda: server.post("mine", {"texts": ["a"]}).json()["results"][0]["text"] == "v2:a")


def test_modules_are_loaded_and_unloaded_at_run_time(hub_home: Path) -> None:
    port = free_port()
    with ServerProcess(["-m", "echo", "-p", str(port), "--admin"], hub_home, port) as server:
        loaded = run_hub(["serving", "load", "-p", str(port), "-m", "senta_bilstm"], hub_home, timeout_s=120)
        assert loaded.returncode == 0, loaded.stderr
        answer = server.post("senta_bilstm", {"texts": ["这家餐厅很好吃"]})
        assert answer.status_code == 200 and answer.json()["results"][0]["sentiment_key"] == "positive"
        record = json.loads((hub_home / "conf" / f"serving_{port}.json").read_text())
        assert any(name.startswith("senta_bilstm==") for name in record["module"])  # hub uninstall sees it
        index = server.client.post("/v2/repository/index").json()
        assert {entry["name"]: entry["state"] for entry in index} == {
            "echo": "READY",
            "senta_bilstm": "READY",
        }
        unloaded = run_hub(["serving", "unload", "-p", str(port), "-m", "senta_bilstm"], hub_home)
        assert unloaded.returncode == 0, unloaded.stderr
        gone = server.post("senta_bilstm", {"texts": ["好"]})
        assert gone.status_code == 404 and gone.json()["status"] == "111"
        assert len(server.family()) == 2  # the front and echo's worker


def test_loading_needs_admin(hub_home: Path) -> None:
    port = free_port()
    with ServerProcess(["-m", "echo", "-p", str(port)], hub_home, port) as server:
        refused = run_hub(["serving", "load", "-p", str(port), "-m", "senta_bilstm"], hub_home)
        assert refused.returncode == 1 and "--admin" in refused.stderr
        over_http = server.client.post("/v2/repository/models/senta_bilstm/load")
        assert over_http.status_code == 403 and "--admin" in over_http.json()["error"]
        assert server.client.post("/v2/repository/reload").status_code == 403  # no local token


@pytest.mark.timeout(180)
def test_reload_flag_reloads_a_module_when_its_files_change(tmp_path: Path, hub_home: Path) -> None:
    folder = copy_module(tmp_path, "old:")
    port = free_port()
    with ServerProcess(["-m", str(folder), "-p", str(port), "--reload"], hub_home, port) as server:
        assert server.post("mine", {"texts": ["a"]}).json()["results"][0]["text"] == "old:a"
        shutil.copy(folder / "module.py", tmp_path / "backup.py")
        copy_module(tmp_path, "new:")
        wait_until(lambda: server.post("mine", {"texts": ["a"]}).json()["results"][0]["text"] == "new:a", 120)


def test_only_the_request_that_kills_workers_is_blamed(hub_home: Path) -> None:
    """A crash takes its worker down with the requests queued behind it: they are sent again one by one,
    so only the crash, which kills the next worker too while alone on it, is answered 119."""
    port = free_port()
    with ServerProcess(["-m", "echo", "-p", str(port), "--timeout", "30"], hub_home, port) as server:
        answers: dict[str, httpx.Response] = {}

        def post(name: str, body: dict[str, object]) -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                answers[name] = client.post("/predict/echo", json={"texts": [name], **body})

        threads = [
            threading.Thread(target=post, args=("slow", {"sleep_s": 1.0})),
            threading.Thread(target=post, args=("crash", {"crash": True})),
            threading.Thread(target=post, args=("bystander", {})),
        ]
        for thread in threads:
            thread.start()
            wait_until(lambda: b"queue_depth" in server.client.get("/metrics").content, 5)
            time.sleep(0.1)  # in this order on the worker: the first is running, the others queue behind it
        for thread in threads:
            thread.join(timeout=90)
        assert answers["slow"].status_code == 200, answers["slow"].text
        assert answers["bystander"].status_code == 200, answers["bystander"].text
        assert answers["crash"].status_code == 503 and answers["crash"].json()["status"] == "119"
        assert "two worker processes died while running this request" in answers["crash"].json()["msg"]


def test_a_reload_survives_a_new_worker_killed_while_it_loads(hub_home: Path) -> None:
    port = free_port()
    with ServerProcess(["-m", "echo", "-p", str(port)], hub_home, port) as server:
        front = psutil.Process(server.process.pid)
        before = {child.pid for child in front.children()}
        reload = threading.Thread(
            target=lambda: answers.append(run_hub(["serving", "reload", "-p", str(port)], hub_home, 120))
        )
        answers: list = []
        reload.start()
        wait_until(lambda: {c.pid for c in front.children()} - before != set(), 30, "a new worker")
        for pid in {c.pid for c in front.children()} - before:
            psutil.Process(pid).kill()
        reload.join(timeout=120)
        assert answers[0].returncode == 0, answers[0].stderr
        assert server.post("echo", {"texts": ["a"]}).status_code == 200
        live = lambda: [c for c in front.children() if c.status() != psutil.STATUS_ZOMBIE]  # noqa: E731
        wait_until(lambda: len(live()) == 1, 30, "the old worker to end")
