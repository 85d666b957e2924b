"""The module contract on a running server: type hints checked, RequestError is 400, a bug is a 500
with its traceback in the worker's log; wrong init_args fail before any worker starts; a worker over
its memory ceiling is replaced without a failed request."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.serverproc import ServerProcess, free_port, run_hub


@pytest.fixture(scope="module")
def typed_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("home")
    fixtures = Path(__file__).parent / "fixtures" / "modules"
    (home / "modules").mkdir()
    for name in ("typed", "echo"):
        (home / "modules" / name).mkdir()
        (home / "modules" / name / "module.py").write_text((fixtures / name / "module.py").read_text())
    port = free_port()
    with ServerProcess(["-m", "typed", "echo", "-p", str(port)], home, port) as server:
        yield server


@pytest.mark.parametrize(
    ("body", "argument", "expected"),
    [
        ({"texts": "not a list"}, "texts", "list[str]"),
        ({"texts": [1, 2]}, "texts", "list[str]"),
        ({"texts": ["a"], "top_k": "three"}, "top_k", "int"),
        ({"texts": ["a"], "upper": "false"}, "upper", "bool"),
    ],
)
def test_a_wrong_type_is_a_400_naming_the_argument(typed_server, body, argument, expected) -> None:  # type: ignore[no-untyped-def]
    response = typed_server.post("typed", body)
    assert response.status_code == 400
    envelope = response.json()
    assert envelope["status"] == "101" and envelope["results"] == ""
    assert f"argument '{argument}' must be {expected}" in envelope["msg"]


def test_request_error_gives_400_with_its_message(typed_server) -> None:  # type: ignore[no-untyped-def]
    response = typed_server.post("typed", {"texts": ["refuse me"]})
    assert response.status_code == 400
    assert response.json()["msg"] == "typed: 'refuse me' is not a text this module takes; send another"


def test_a_module_bug_is_a_500_with_the_traceback_in_the_worker_log(typed_server) -> None:  # type: ignore[no-untyped-def]
    response = typed_server.post("typed", {"texts": ["bug"]})
    assert response.status_code == 500 and response.json()["status"] == "101"
    assert "Traceback" not in response.text
    log = typed_server.hub_home / "log" / f"serving_{typed_server.port}.worker0.log"
    text = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text
    assert "ValueError: an internal invariant broke" in text
    assert typed_server.post("typed", {"texts": ["fine"], "top_k": 5}).json()["results"] == [
        {"text": "fine", "top_k": 5}
    ]


def test_modules_show_argument_types_and_input(typed_server) -> None:  # type: ignore[no-untyped-def]
    modules = {m["name"]: m for m in typed_server.client.get("/modules").json()["modules"]}
    typed = modules["typed"]
    assert typed["input_kind"] == "text" and typed["input_arg"] == "texts"
    assert [(p["name"], p["type"]) for p in typed["parameters"]] == [
        ("texts", "list[str]"),
        ("top_k", "int"),
        ("upper", "bool"),
    ]
    assert typed["version"] == "1.0.0" and typed["category"] == "nlp"


def test_unknown_init_args_fail_before_any_worker_starts(hub_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    port = free_port()
    config.write_text(json.dumps({"port": port, "modules_info": {"echo": {"init_args": {"prefx": "x"}}}}))
    result = run_hub(["serving", "start", "-c", str(config)], hub_home)
    assert result.returncode != 0
    assert "modules_info.echo.init_args: echo does not take prefx; it takes: load_delay_s, prefix" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr


def test_a_worker_over_its_memory_ceiling_is_replaced_without_a_failed_request(
    hub_home: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config.json"
    port = free_port()
    config.write_text(json.dumps({"port": port, "worker_memory_mb": 1, "modules_info": {"echo": {}}}))
    with ServerProcess(["-c", str(config)], hub_home, port) as server:
        first = server.post("echo", {"texts": ["first"]}).json()["results"][0]["pid"]
        deadline = time.monotonic() + 60
        pid = first
        while pid == first and time.monotonic() < deadline:  # until the replacement has loaded
            response = server.post("echo", {"texts": ["again"]})
            assert response.status_code == 200, response.text
            pid = response.json()["results"][0]["pid"]
        assert pid != first  # the worker went over 1 MB after its call and was replaced
        log = (server.hub_home / "log" / f"serving_{port}.log").read_text(encoding="utf-8")
        assert "over worker_memory_mb: replacing it without dropping requests" in log


@pytest.mark.parametrize(("settings", "step"), [({}, 10), ({"worker_nice": 0}, 0), ({"worker_nice": 19}, 19)])
def test_workers_run_nicer_than_the_front(hub_home: Path, tmp_path: Path, settings: dict, step: int) -> None:
    """The front keeps taking requests and answering when the workers hold every core."""
    config = tmp_path / "config.json"
    port = free_port()
    config.write_text(json.dumps({"port": port, "modules_info": {"echo": {}}, **settings}))
    with ServerProcess(["-c", str(config)], hub_home, port) as server:
        front, *workers = server.family()
        assert workers
        assert all(worker.nice() == min(front.nice() + step, 19) for worker in workers)
        assert server.post("echo", {"texts": ["x"]}).status_code == 200
