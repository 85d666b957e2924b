"""The HTTP front in-process: the real app over ``httpx.ASGITransport``, with a fake predictor.

No worker process, no socket: a request costs microseconds, so the front's rules (auth, CORS,
content types, sizes, codes, request ids, access lines) are tested here by the hundred.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from hubserving import envelope
from hubserving.config import config_from_json
from hubserving.http.access import AccessLog
from hubserving.http.app import create_app
from hubserving.http.state import ServingState
from hubserving.metrics import ServerMetrics
from hubserving.module.decorators import ModuleInfo
from hubserving.module.signature import Parameter
from hubserving.runtime.messages import ModuleDescription, PredictReply

CLIENT_ADDRESS = ("203.0.113.7", 40000)
BASE_URL = "http://127.0.0.1:8866"

Answer = Callable[[str, bytes | bytearray], PredictReply]


def echo_description() -> ModuleDescription:
    """What the fixture module ``echo`` tells the front about itself."""
    return ModuleDescription(
        name="echo",
        info=ModuleInfo("echo", "1.0.0", "Echo texts back (test module)", "tests", type="nlp/test"),
        method="echo",
        parameters=(
            Parameter("texts", required=True, type="list[str]"),
            Parameter("upper", False, type="bool"),
            Parameter("sleep_s", 0.0, type="float"),
        ),
        predict_args={},
        batch_arg="texts",
        max_batch_size=8,
        input_kind="text",
        input_arg="texts",
        aliases={"text": "texts"},
    )


def received(module: str, body: bytes | bytearray) -> PredictReply:
    """The default answer: success, with the size of the body the front passed on."""
    return PredictReply(0, 200, envelope.success({"module": module, "bytes": len(body)}))


@dataclass
class FakePredictor:
    """A ``Predictor`` without processes: answers with ``answer`` and records every call."""

    answer: Answer = received
    ready: bool = True
    descriptions: tuple[ModuleDescription, ...] = field(default_factory=lambda: (echo_description(),))
    depth: dict[str, int] = field(default_factory=dict)
    workers: list[int] = field(default_factory=lambda: [4242])
    calls: list[tuple[str, bytes | bytearray]] = field(default_factory=list)
    names: frozenset[str] = frozenset({"echo"})

    @property
    def module_names(self) -> frozenset[str]:
        return self.names

    async def predict(self, module: str, body: bytes | bytearray) -> PredictReply:
        self.calls.append((module, body))
        return self.answer(module, body)

    def pids(self) -> Sequence[int]:
        return self.workers

    def ready_workers(self) -> int:
        return len(self.workers) if self.ready else 0

    def module_workers(self) -> Mapping[str, Mapping[str, Any]]:
        return {}

    @property
    def last_body(self) -> bytes:
        assert self.calls, "the front passed no request to the predictor"
        return bytes(self.calls[-1][1])


class InProcessClient:
    """A synchronous client of the app on one event loop that lives as long as the client."""

    def __init__(self, state: ServingState, runner: asyncio.Runner, log_stream: io.StringIO) -> None:
        self.state = state
        self.runner = runner
        self.log_stream = log_stream  # what the access log wrote to "stderr"
        self.app = create_app(state)
        transport = httpx.ASGITransport(app=self.app, client=CLIENT_ADDRESS)
        self.http = httpx.AsyncClient(transport=transport, base_url=BASE_URL)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.runner.run(self.http.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def predict(self, body: object, module: str = "echo", **kwargs: Any) -> httpx.Response:
        return self.post(f"/predict/{module}", json=body, **kwargs)

    async def send_raw(
        self, path: str, headers: list[tuple[bytes, bytes]], arriving: Sequence[dict[str, Any]]
    ) -> tuple[int | None, bytes]:
        """POST straight to the ASGI app: ``arriving`` are the receive() messages, in order (no
        client library in between, so nothing but the app runs on the loop)."""
        messages = iter(arriving)
        answer: dict[str, Any] = {"status": None, "body": b""}

        async def receive() -> dict[str, Any]:
            return next(messages)

        async def send(message: Mapping[str, Any]) -> None:
            answer["status"] = message.get("status", answer["status"])
            answer["body"] += message.get("body", b"")

        scope = {"type": "http", "method": "POST", "path": path, "headers": headers, "client": CLIENT_ADDRESS}
        await self.app(scope, receive, send)
        return answer["status"], answer["body"]

    def run(self, coroutine: Any) -> Any:
        """Run a coroutine on the client's loop (to drive several requests at once)."""
        return self.runner.run(coroutine)


@contextmanager
def in_process(
    settings: Mapping[str, Any] | None = None,
    predictor: FakePredictor | None = None,
    log_dir: Path | None = None,
    log_format: str = "text",
) -> Iterator[InProcessClient]:
    """The app serving ``echo`` with config.json ``settings``; an access log in ``log_dir`` if given."""
    config = config_from_json({"modules_info": {"echo": {}}, **(settings or {})})
    fake = predictor or FakePredictor()
    fake.names = frozenset(m.name for m in config.modules)
    metrics = ServerMetrics(m.name for m in config.modules)
    metrics.watch_queue(lambda module: fake.depth.get(module, 0), fake.ready_workers)
    stream = io.StringIO()
    with asyncio.Runner() as runner:
        access_log = None
        if log_dir is not None:
            access_log = AccessLog(log_dir / "serving_8866.access.log", log_format == "json", stream)
        client = InProcessClient(ServingState(config, fake, metrics, access_log), runner, stream)
        try:
            yield client
        finally:
            runner.run(client.http.aclose())
            if access_log is not None:
                access_log.close()
