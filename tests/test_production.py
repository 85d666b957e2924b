"""Production promises of a real server process, each broken on purpose.

Readiness, metrics, overload, request ids in the log files, graceful stop, background running, a
worker killed under load. Auth, CORS and body limits are the front's alone: ``test_http_auth.py``
and ``test_http_body.py`` test them in-process.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.serverproc import ServerProcess, free_port, port_is_free, run_hub


def write_config(tmp_path: Path, **settings: object) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(settings), encoding="utf-8")
    return path


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics:\n{text}")


def wait_for_metric(server: ServerProcess, name: str, value: float, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while metric(server.client.get("/metrics").text, name) != value:
        assert time.monotonic() < deadline, f"{name} did not reach {value} within {timeout_s} s"
        time.sleep(0.02)


def test_ready_only_once_models_are_loaded(hub_home: Path, tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, port=port, modules_info={"echo": {"init_args": {"load_delay_s": 3}}})
    server = ServerProcess(["-c", str(config)], hub_home, port)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if server.client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        assert server.client.get("/health").status_code == 200
        assert server.client.get("/v2/health/live").status_code == 200
        loading = server.client.get("/ready")
        assert loading.status_code == 503 and loading.json()["status"] == "loading"
        early = server.post("echo", {"texts": ["a"]})
        assert early.status_code == 503 and early.json()["status"] == "116"
        assert early.headers["retry-after"] == "1"
        server.wait_ready()
        assert server.client.get("/v2/health/ready").status_code == 200
        assert server.post("echo", {"texts": ["a"]}).json()["status"] == "0"
    finally:
        server.stop()


def test_metrics_count_requests_batches_and_restarts(hub_home: Path) -> None:
    port = free_port()
    with ServerProcess(["-m", "echo", "-p", str(port)], hub_home, port) as server:
        for _ in range(3):
            server.post("echo", {"texts": ["a"]})
        server.post("echo", {"texts": ["a"], "nope": 1})
        server.post("echo", {"texts": ["x"], "crash": True})
        deadline = time.monotonic() + 30
        while server.client.get("/ready").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        text = server.client.get("/metrics").text
        assert metric(text, 'hub_requests_total{http_status="200",module="echo"}') == 3
        assert metric(text, 'hub_requests_total{http_status="400",module="echo"}') == 1
        assert metric(text, 'hub_requests_total{http_status="503",module="echo"}') == 1
        assert metric(text, 'hub_request_duration_seconds_count{module="echo"}') == 5
        assert metric(text, 'hub_batch_size_count{module="echo"}') == 3  # the 400 and the crash made no call
        assert metric(text, "hub_worker_restarts_total") == 2  # the crash was sent once more, to the new one
        assert metric(text, "hub_workers_ready") == 1
        assert metric(text, 'hub_queue_depth{module="echo"}') == 0


def test_overload_sheds_with_503_and_retry_after_at_once(hub_home: Path) -> None:
    port = free_port()
    with ServerProcess(["-m", "echo", "-p", str(port), "--queue_size", "2"], hub_home, port) as server:

        def slow(i: int) -> tuple[httpx.Response, float]:
            started = time.monotonic()
            with httpx.Client(base_url=server.url, timeout=30) as client:
                response = client.post("/predict/echo", json={"texts": [str(i)], "sleep_s": 1.0})
            return response, time.monotonic() - started

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(slow, range(8)))
        accepted = [r for r, _ in results if r.status_code == 200]
        shed = [(r, seconds) for r, seconds in results if r.status_code == 503]
        assert len(accepted) + len(shed) == 8 and accepted and shed
        for response, seconds in shed:
            assert response.json()["status"] == "117" and "overloaded" in response.json()["msg"]
            assert response.headers["retry-after"] == "1" and seconds < 1.0
        assert server.post("echo", {"texts": ["after"]}).json()["results"][0]["text"] == "after"


def test_request_ids_are_echoed_and_logged(hub_home: Path) -> None:
    port = free_port()
    with ServerProcess(["-m", "echo", "-p", str(port), "--log-format", "json"], hub_home, port) as server:
        given = server.client.post(
            "/predict/echo", json={"texts": ["a"]}, headers={"X-Request-ID": "trace-42"}
        )
        assert given.headers["x-request-id"] == "trace-42"
        made = server.post("echo", {"texts": ["a"]}).headers["x-request-id"]
        assert len(made) == 32 and made != "trace-42"
        log = hub_home / "log" / f"serving_{port}.access.log"
        deadline = time.monotonic() + 5
        while (
            not (log.exists() and "trace-42" in log.read_text(encoding="utf-8"))
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
        logged = [entry for entry in entries if entry.get("request_id") == "trace-42"]
        assert logged and logged[0]["status"] == 200 and logged[0]["hub_module"] == "echo"
        assert (hub_home / "log" / f"serving_{port}.worker0.log").exists()


def test_sigterm_finishes_in_flight_requests_then_exits_0(hub_home: Path) -> None:
    port = free_port()
    with ServerProcess(
        ["-m", "echo", "-p", str(port), "--use_multiprocess", "--workers", "2"], hub_home, port
    ) as server:
        results: list[httpx.Response] = []

        def slow(i: int) -> None:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                results.append(client.post("/predict/echo", json={"texts": [str(i)], "sleep_s": 1.5}))

        threads = [threading.Thread(target=slow, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        wait_for_metric(server, 'hub_queue_depth{module="echo"}', 4)  # all four are in the workers
        server.process.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(timeout=30)
        assert server.process.wait(timeout=30) == 0
        assert sorted(r.json()["results"][0]["text"] for r in results) == ["0", "1", "2", "3"]
        assert all(r.status_code == 200 for r in results)
        assert port_is_free(port)


def test_detach_status_and_stale_records(hub_home: Path) -> None:
    port = free_port()
    started = run_hub(["serving", "start", "-m", "echo", "-p", str(port), "--detach"], hub_home)
    try:
        assert started.returncode == 0, started.stderr
        assert "echo==1.0.0" in started.stdout and "Running in the background" in started.stdout
        assert httpx.post(f"http://127.0.0.1:{port}/predict/echo", json={"texts": ["bg"]}).status_code == 200
        status = run_hub(["serving", "status", "--json"], hub_home)
        [entry] = json.loads(status.stdout)["servers"]
        assert entry["port"] == port and entry["ready"] is True and entry["modules"] == ["echo==1.0.0"]
        table = run_hub(["serving", "status"], hub_home).stdout
        assert str(port) in table and "yes" in table
    finally:
        assert run_hub(["serving", "stop", "--port", str(port)], hub_home).returncode == 0
    stale = {
        "pid": 999999,
        "module": ["echo==1.0.0"],
        "start_time": 0,
        "port": port + 1,
        "host": "",
        "process_create_time": 0,
    }
    (hub_home / "conf" / f"serving_{port + 1}.json").write_text(json.dumps(stale), encoding="utf-8")
    cleaned = run_hub(["serving", "status"], hub_home).stdout
    assert f"removed the stale record of port {port + 1}" in cleaned and "no hubserving server" in cleaned
    assert not (hub_home / "conf" / f"serving_{port + 1}.json").exists()


def test_detach_reports_a_start_error(hub_home: Path) -> None:
    result = run_hub(["serving", "start", "-m", "broken", "-p", str(free_port()), "--detach"], hub_home)
    assert result.returncode != 0
    assert "a_package_that_does_not_exist" in result.stderr


def test_short_api_key_is_refused(hub_home: Path) -> None:
    result = run_hub(["serving", "start", "-m", "echo", "--api-key", "short"], hub_home)
    assert result.returncode != 0 and "at least 8 characters" in result.stderr


def test_a_worker_killed_under_load_loses_no_request(hub_home: Path) -> None:
    """Every request gets exactly one answer: a correct 200, or 503 with status 119 from the killed worker."""
    port = free_port()
    args = ["-m", "echo", "-p", str(port), "--use_multiprocess", "--workers", "2", "--no-access-log"]
    with ServerProcess(args, hub_home, port) as server:
        stop_at = time.monotonic() + 3.0
        answers: list[tuple[str, httpx.Response | Exception]] = []

        def client(number: int) -> None:
            with httpx.Client(base_url=server.url, timeout=20) as http:
                sent = 0
                while time.monotonic() < stop_at:
                    text = f"{number}-{sent}"
                    sent += 1
                    try:
                        answers.append(
                            (text, http.post("/predict/echo", json={"texts": [text], "sleep_s": 0.01}))
                        )
                    except httpx.HTTPError as error:
                        answers.append((text, error))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(answers) < 50 and time.monotonic() < deadline:
            time.sleep(0.01)  # until the load is well under way
        server.family()[1].kill()
        for thread in threads:
            thread.join(timeout=30)
        lost = [text for text, answer in answers if isinstance(answer, Exception)]
        assert not lost, f"{len(lost)} requests got no answer"
        by_status: dict[tuple[int, str], int] = {}
        for text, answer in answers:
            assert isinstance(answer, httpx.Response)
            envelope = answer.json()
            by_status[(answer.status_code, envelope["status"])] = (
                by_status.get((answer.status_code, envelope["status"]), 0) + 1
            )
            if answer.status_code == 200:
                assert envelope["results"][0]["text"] == text
        assert set(by_status) <= {(200, "0"), (503, "119"), (503, "116")}, by_status
        assert by_status[(200, "0")] > 50
