"""The Ray predictor's own rules, with fake deployment handles: retry once on a lost replica, 504 past
the timeout, 503 beyond the queue bound or while loading, 404 for an unknown module; and the view of
the cluster that ``/ready`` and ``GET /modules`` report."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from ray.exceptions import ActorDiedError, RayTaskError

from hubserving import envelope
from hubserving.errors import Code
from hubserving.ray.predictor import RayPredictor
from hubserving.ray.view import ModuleRoute, read_view
from hubserving.runtime.messages import PredictReply

ROUTES = {"lac": ModuleRoute("hub-8866-lac", "lac")}


def replica(pid: int, node: str, state: str = "RUNNING") -> dict[str, Any]:
    return {"replica_id": f"r{pid}", "state": state, "pid": pid, "node_id": node, "node_ip": "10.0.0.1"}


def details(*replicas: dict[str, Any], status: str = "RUNNING", dead: int = 0) -> dict[str, Any]:
    deployment = {"target_num_replicas": 2, "replicas": list(replicas), "recent_dead_replicas": [{}] * dead}
    return {
        "applications": {
            "hub-8866-lac": {"status": status, "message": "", "deployments": {"lac": deployment}}
        }
    }


class FakeHandle:
    """Answers ``remote(body)`` with what ``behave`` says for each attempt (a reply, or an error)."""

    def __init__(self, behave: Callable[[int, bytes], Any]) -> None:
        self.behave = behave
        self.attempts = 0

    def options(self, method_name: str) -> FakeHandle:
        return self

    async def remote(self, body: bytes) -> PredictReply:
        self.attempts += 1
        outcome = self.behave(self.attempts, body)
        if isinstance(outcome, BaseException):
            raise outcome
        if isinstance(outcome, float):
            await asyncio.sleep(outcome)
            return ok()
        assert isinstance(outcome, PredictReply)
        return outcome


def ok() -> PredictReply:
    return PredictReply(1, 200, envelope.success(["fine"]), 1)


def predictor_with(handle: FakeHandle, timeout_s: float = 5, queue_size: int = 8) -> RayPredictor:
    predictor = RayPredictor(ROUTES, timeout_s, queue_size, read_details=lambda: details(replica(7, "n1")))
    predictor.handles["lac"] = handle  # type: ignore[assignment]
    return predictor


def status_of(reply: PredictReply) -> str:
    return str(orjson.loads(reply.body)["status"])


def test_a_request_whose_replica_died_is_answered_by_another_once() -> None:
    handle = FakeHandle(lambda attempt, body: ActorDiedError() if attempt == 1 else ok())
    retried: list[str] = []
    predictor = predictor_with(handle)
    predictor.on_retry = retried.append
    reply = asyncio.run(predictor.predict("lac", b"{}"))
    assert (reply.http_status, reply.attempts, handle.attempts, retried) == (200, 2, 2, ["lac"])


def test_a_request_that_lost_two_replicas_is_answered_119() -> None:
    handle = FakeHandle(lambda attempt, body: ActorDiedError())
    reply = asyncio.run(predictor_with(handle).predict("lac", b"{}"))
    assert (reply.http_status, status_of(reply), handle.attempts) == (503, Code.WORKER_LOST.status, 2)


def test_a_replica_failing_outside_the_module_is_a_500_not_a_retry() -> None:
    handle = FakeHandle(lambda attempt, body: RayTaskError("predict", "trace", ValueError("bad")))
    reply = asyncio.run(predictor_with(handle).predict("lac", b"{}"))
    assert (reply.http_status, handle.attempts) == (500, 1)


def test_past_the_timeout_the_answer_is_504() -> None:
    reply = asyncio.run(predictor_with(FakeHandle(lambda a, b: 1.0), timeout_s=0.05).predict("lac", b"{}"))
    assert (reply.http_status, status_of(reply)) == (504, Code.TIMEOUT.status)


def test_beyond_the_queue_bound_the_answer_is_503_at_once() -> None:
    async def flood() -> list[int]:
        predictor = predictor_with(FakeHandle(lambda a, b: 0.1), queue_size=2)
        replies = await asyncio.gather(*(predictor.predict("lac", b"{}") for _ in range(4)))
        return sorted(reply.http_status for reply in replies)

    assert asyncio.run(flood()) == [200, 200, 503, 503]


def test_unknown_and_loading_modules() -> None:
    predictor = RayPredictor(ROUTES, 5, 8)
    assert asyncio.run(predictor.predict("senta", b"{}")).http_status == 404
    loading = asyncio.run(predictor.predict("lac", b"{}"))
    assert (loading.http_status, status_of(loading)) == (503, Code.NOT_READY.status)
    assert not predictor.ready


def test_ready_when_every_module_has_a_running_replica() -> None:
    predictor = predictor_with(FakeHandle(lambda a, b: ok()))
    predictor.views = read_view(details(replica(7, "n1", "STARTING")), ROUTES)
    assert not predictor.ready
    predictor.views = read_view(details(replica(7, "n1"), replica(8, "n2", "STARTING")), ROUTES)
    assert predictor.ready
    assert predictor.pids() == [7] and predictor.ready_workers() == 1


def test_module_workers_lists_replicas_per_module_and_node() -> None:
    predictor = predictor_with(FakeHandle(lambda a, b: ok()))
    predictor.views = read_view(details(replica(7, "n1"), replica(8, "n2"), replica(9, "n2"), dead=1), ROUTES)
    lac = predictor.module_workers()["lac"]
    assert (lac["ready"], lac["of"], lac["replaced_recently"]) == (3, 2, 1)
    assert lac["replicas_per_node"] == {"n1": 1, "n2": 2}
    assert lac["workers"][0] == {
        "pid": 7,
        "state": "ready",
        "restarts": 0,
        "memory_mb": None,
        "replica": "r7",
        "node_id": "n1",
        "node_ip": "10.0.0.1",
    }


def test_a_module_whose_application_is_gone_has_no_replicas() -> None:
    predictor = predictor_with(FakeHandle(lambda a, b: ok()))
    predictor.views = read_view({"applications": {}}, ROUTES)
    assert predictor.module_workers()["lac"]["ready"] == 0 and not predictor.ready


def test_waiting_reports_a_failed_deployment_with_its_message() -> None:
    from hubserving.runtime.local import ModuleStartError

    async def wait() -> None:
        predictor = RayPredictor(ROUTES, 5, 8, read_details=lambda: details(status="DEPLOY_FAILED"))
        predictor.views = read_view(details(status="DEPLOY_FAILED"), ROUTES)
        predictor._viewed.set()
        await predictor.wait_running({"lac": FakeHandle(lambda a, b: ok())})  # type: ignore[dict-item]

    with pytest.raises(ModuleStartError, match="lac: its Serve deployment failed"):
        asyncio.run(wait())
