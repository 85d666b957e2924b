"""A real server process on a free port, driven over HTTP, stopped with `hub serving stop`."""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

from tests.serverproc import ServerProcess, free_port, port_is_free, run_hub


def test_predict_returns_the_envelope_and_errors_keep_the_server_serving(hub_home: Path) -> None:
    with ServerProcess(["-m", "echo", "-p", str(port := free_port())], hub_home, port) as server:
        response = server.post("echo", {"texts": ["今天是个好日子", "b"]})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body["msg"] == "" and body["status"] == "0"
        assert [r["text"] for r in body["results"]] == ["今天是个好日子", "b"]
        assert "今天是个好日子".encode() in response.content

        missing = server.post("nothere", {"texts": ["a"]})
        assert missing.status_code == 404
        assert missing.json() == {"msg": "Module nothere is not available.", "results": "", "status": "111"}
        form = server.client.post("/predict/echo", data={"texts": "a"})
        assert form.status_code == 415 and form.json()["status"] == "112"
        broken = server.client.post(
            "/predict/echo", content=b'{"texts": [', headers={"content-type": "application/json"}
        )
        assert broken.status_code == 400 and broken.json()["status"] == "113"
        not_object = server.post("echo", ["a"])
        assert not_object.status_code == 400 and not_object.json()["status"] == "114"
        unknown = server.post("echo", {"texts": ["a"], "size": 3})
        assert unknown.status_code == 400
        assert (
            unknown.json()["msg"]
            == "echo.echo() does not take 'size'; it accepts: texts, upper, sleep_s, crash"
        )

        assert server.post("echo", {"text": ["again"]}).json()["results"][0]["text"] == "again"
        page = server.client.get("/")
        assert page.status_code == 200 and "echo" in page.text and "1.0.0" in page.text
        described = server.client.get("/modules").json()["modules"][0]
        assert described["name"] == "echo" and next(p["name"] for p in described["parameters"]) == "texts"


def test_stop_prints_the_reference_line_and_leaves_nothing_behind(hub_home: Path) -> None:
    port = free_port()
    with ServerProcess(
        ["-m", "echo", "-p", str(port), "--use_multiprocess", "--workers", "2"], hub_home, port
    ) as server:
        family = server.family()
        assert len(family) == 3  # the front and two workers
        record = json.loads((hub_home / "conf" / f"serving_{port}.json").read_text(encoding="utf-8"))
        assert record["pid"] == server.process.pid and record["module"] == ["echo==1.0.0"]
        result = run_hub(["serving", "stop", "--port", str(port)], hub_home)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "PaddleHub Serving will stop."
        assert server.process.wait(timeout=10) == 0
        assert not any(
            process.is_running() and process.status() != psutil.STATUS_ZOMBIE for process in family
        )
        assert port_is_free(port)
        assert not (hub_home / "conf" / f"serving_{port}.json").exists()


def test_ctrl_c_stops_cleanly(hub_home: Path) -> None:
    port = free_port()
    with ServerProcess(["-m", "echo", "-p", str(port)], hub_home, port) as server:
        family = server.family()
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=15) == 0
        psutil.wait_procs(family, timeout=5)
        assert all(not process.is_running() for process in family)
        assert not (hub_home / "conf" / f"serving_{port}.json").exists()
        assert port_is_free(port)


def test_stale_record_and_reused_pid_are_not_signalled(hub_home: Path) -> None:
    port = free_port()
    conf = hub_home / "conf"
    conf.mkdir(parents=True)
    bystander = psutil.Process(os.getpid())  # a live process that is not a hubserving server
    record = {
        "pid": bystander.pid,
        "module": ["echo==1.0.0"],
        "start_time": time.time(),
        "port": port,
        "host": "0.0.0.0",
        "process_create_time": bystander.create_time() - 1000,
    }
    (conf / f"serving_{port}.json").write_text(json.dumps(record), encoding="utf-8")
    result = run_hub(["serving", "stop", "--port", str(port)], hub_home)
    assert result.returncode == 0 and result.stdout.strip() == "PaddleHub Serving has been stopped."
    assert bystander.is_running() and not (conf / f"serving_{port}.json").exists()


def test_multiprocess_spreads_load_and_replaces_a_killed_worker(hub_home: Path) -> None:
    port = free_port()
    with ServerProcess(
        ["-m", "echo", "-p", str(port), "--use_multiprocess", "--workers", "2"], hub_home, port
    ) as server:

        def ask(i: int) -> httpx.Response:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                return client.post("/predict/echo", json={"texts": [str(i)], "sleep_s": 0.05})

        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(ask, range(32)))
        assert all(r.status_code == 200 for r in responses)
        assert [r.json()["results"][0]["text"] for r in responses] == [str(i) for i in range(32)]
        assert len({r.json()["results"][0]["pid"] for r in responses}) == 2

        victim = server.family()[1]
        victim.kill()
        victim.wait(timeout=5)
        deadline = time.monotonic() + 30
        while len(server.family()) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(server.family()) == 3  # the front and echo's two workers
        with ThreadPoolExecutor(8) as pool:
            after = list(pool.map(ask, range(16)))
        answered = [r for r in after if r.status_code == 200]
        assert len(answered) >= 8 and all(r.json()["status"] == "0" for r in answered)


def test_a_request_on_a_crashing_worker_gets_an_error_not_a_hang(hub_home: Path) -> None:
    port = free_port()
    with ServerProcess(["-m", "echo", "-p", str(port)], hub_home, port) as server:
        crashed = server.post("echo", {"texts": ["x"], "crash": True})
        assert crashed.status_code == 503 and crashed.json()["status"] == "119"
        assert "died" in crashed.json()["msg"]
        deadline = time.monotonic() + 30
        while server.client.get("/ready").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.post("echo", {"texts": ["still here"]}).json()["results"][0]["text"] == "still here"


def test_timeout_answers_504_and_the_server_recovers(hub_home: Path) -> None:
    port = free_port()
    with ServerProcess(["-m", "echo", "-p", str(port), "--timeout", "1"], hub_home, port) as server:
        slow = server.post("echo", {"texts": ["x"], "sleep_s": 5})
        assert slow.status_code == 504 and slow.json()["status"] == "118"
        assert "did not answer within 1 s" in slow.json()["msg"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if server.post("echo", {"texts": ["ok"]}).status_code == 200:
                break
            time.sleep(0.2)
        assert server.post("echo", {"texts": ["ok"]}).json()["results"][0]["text"] == "ok"


def test_config_file_with_two_versions_and_predict_args(hub_home: Path, tmp_path: Path) -> None:
    port = free_port()
    config = {
        "modules_info": {
            "versioned": {"init_args": {"version": "1.0.0"}},
            "echo": {"init_args": {"prefix": ">"}, "predict_args": {"upper": True}},
        },
        "port": port,
        "host": "127.0.0.1",
        "use_multiprocess": True,
        "workers": 2,
        "timeout": 30,
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    with ServerProcess(["-c", str(path)], hub_home, port) as server:
        assert server.post("versioned", {"value": 4}).json()["results"] == {"version": "1.0.0", "value": 4}
        assert server.post("echo", {"texts": ["a"]}).json()["results"][0]["text"] == ">A"
        assert server.post("echo", {"texts": ["a"], "upper": False}).json()["results"][0]["text"] == ">a"
        assert len(server.family()) == 5  # the front, and two workers for each module


def test_concurrent_requests_are_merged_into_fewer_calls(hub_home: Path) -> None:
    port = free_port()
    with ServerProcess(["-m", "echo", "-p", str(port)], hub_home, port) as server:

        def ask(i: int) -> dict:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                body = {"texts": [f"t{i}"], "sleep_s": 0.05}
                return dict(client.post("/predict/echo", json=body).json())

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(ask, range(48)))
        assert [a["results"][0]["text"] for a in answers] == [f"t{i}" for i in range(48)]
        calls = {a["results"][0]["calls"] for a in answers}
        assert len(calls) < 48 / 2, f"{len(calls)} model calls for 48 requests"  # calls answered several each
        batch_count = server.client.get("/metrics").text
        assert 'hub_batch_size_bucket{le="1.0",module="echo"}' in batch_count


def test_batching_off_in_the_config_calls_once_per_request(hub_home: Path, tmp_path: Path) -> None:
    port = free_port()
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps({"port": port, "modules_info": {"echo": {"batching": False}}}), encoding="utf-8"
    )
    with ServerProcess(["-c", str(path)], hub_home, port) as server:

        def ask(i: int) -> int:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                body = {"texts": [f"t{i}"], "sleep_s": 0.02}
                return int(client.post("/predict/echo", json=body).json()["results"][0]["calls"])

        with ThreadPoolExecutor(8) as pool:
            calls = list(pool.map(ask, range(16)))
        assert sorted(calls) == list(range(1, 17))
