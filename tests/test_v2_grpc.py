"""``inference.GRPCInferenceService`` in-process: grpcio's server on a free port, real modules behind
it (no worker processes), Triton's asyncio gRPC client and our generated stub in front."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from hubserving.control import ControlError
from hubserving.errors import PortInUse
from hubserving.http.state import ServingState
from hubserving.v2.generated import open_inference_grpc_pb2 as pb
from hubserving.v2.generated.open_inference_grpc_pb2_grpc import GRPCInferenceServiceStub
from hubserving.v2.grpc_server import start_grpc, stop_grpc
from tests.serverproc import free_port
from tests.test_v2_http import ModulePredictor, serving_state, tiny_predictor

grpcclient = pytest.importorskip("tritonclient.grpc.aio", reason="pip install 'tritonclient[http,grpc]'")
from tritonclient.grpc import InferInput, InferRequestedOutput  # noqa: E402
from tritonclient.utils import InferenceServerException  # noqa: E402

API_KEY = "grpc-secret-key"


@pytest.fixture(scope="module")
def predictor(tmp_path_factory: pytest.TempPathFactory) -> ModulePredictor:
    return tiny_predictor(tmp_path_factory)


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop_runner:
        yield loop_runner


@asynccontextmanager
async def grpc_front(state: ServingState) -> AsyncIterator[str]:
    server = await start_grpc(state)
    try:
        yield f"127.0.0.1:{state.config.grpc_port}"
    finally:
        await stop_grpc(server, 0)


def state_with_grpc(predictor: ModulePredictor, **settings: Any) -> ServingState:
    return serving_state(predictor, {"grpc_port": free_port(), "host": "127.0.0.1", **settings})


def run_with_client(
    runner: asyncio.Runner, state: ServingState, test: Callable[[Any], Awaitable[None]]
) -> None:
    async def main() -> None:
        async with grpc_front(state) as address:
            client = grpcclient.InferenceServerClient(address)
            try:
                await test(client)
            finally:
                await client.close()

    runner.run(main())


def test_health_metadata_and_readiness_through_triton_client(
    runner: asyncio.Runner, predictor: ModulePredictor
) -> None:
    async def test(client: Any) -> None:
        assert await client.is_server_live() and await client.is_server_ready()
        assert await client.is_model_ready("tiny") and await client.is_model_ready("echo", "1.0.0")
        server = await client.get_server_metadata()
        assert server.name == "hubserving" and "binary_tensor_data" in server.extensions
        metadata = await client.get_model_metadata("tiny")
        assert metadata.platform == "onnx_onnxv1"
        assert [(t.name, t.datatype, list(t.shape)) for t in metadata.inputs] == [
            ("x", "FP32", [-1, 3]),
            ("count", "INT64", [-1]),
        ]
        with pytest.raises(InferenceServerException, match="not served here"):
            await client.get_model_metadata("nothing")

    run_with_client(runner, state_with_grpc(predictor), test)


def test_fp32_infer_equals_onnxruntime(
    runner: asyncio.Runner, predictor: ModulePredictor, tmp_path: Path
) -> None:
    import onnxruntime

    from tests.test_exported_model import build_onnx

    build_onnx(tmp_path / "model.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(3).standard_normal((5, 3)).astype(np.float32)
    count = np.arange(5, dtype=np.int64)
    expected_y, expected_total = session.run(["y", "total"], {"x": x, "count": count})

    async def test(client: Any) -> None:
        inputs = [InferInput("x", [5, 3], "FP32"), InferInput("count", [5], "INT64")]
        inputs[0].set_data_from_numpy(x)
        inputs[1].set_data_from_numpy(count)
        result = await client.infer("tiny", inputs, request_id="7")
        np.testing.assert_allclose(result.as_numpy("y"), expected_y, atol=1e-5)
        np.testing.assert_allclose(result.as_numpy("total"), expected_total, atol=1e-5)
        assert result.get_response().id == "7" and result.get_response().model_version == "1.0.0"
        only_total = await client.infer("tiny", inputs, outputs=[InferRequestedOutput("total")])
        assert [output.name for output in only_total.get_response().outputs] == ["total"]

    run_with_client(runner, state_with_grpc(predictor), test)


def test_bytes_texts_and_parameters_to_a_module(runner: asyncio.Runner, predictor: ModulePredictor) -> None:
    async def test(client: Any) -> None:
        texts = InferInput("texts", [2], "BYTES")
        texts.set_data_from_numpy(np.array(["今天是个好日子".encode(), b"b"], dtype=object))
        result = await client.infer("echo", [texts], parameters={"upper": True})
        documents = [json.loads(document) for document in result.as_numpy("results")]
        assert [document["text"] for document in documents] == ["今天是个好日子", "B"]

    run_with_client(runner, state_with_grpc(predictor), test)


def test_errors_map_to_grpc_status_codes(runner: asyncio.Runner, predictor: ModulePredictor) -> None:
    async def test(client: Any) -> None:
        texts = InferInput("texts", [1], "BYTES")
        texts.set_data_from_numpy(np.array([b"refuse me"], dtype=object))
        with pytest.raises(InferenceServerException) as refused:
            await client.infer("typed", [texts])
        assert (
            refused.value.status() == "StatusCode.INVALID_ARGUMENT" and "refuse me" in refused.value.message()
        )
        with pytest.raises(InferenceServerException) as missing:
            await client.infer("nothing", [texts])
        assert missing.value.status() == "StatusCode.NOT_FOUND"
        texts.set_data_from_numpy(np.array([b"bug"], dtype=object))
        with pytest.raises(InferenceServerException) as failed:
            await client.infer("typed", [texts])
        assert failed.value.status() == "StatusCode.INTERNAL"

    state = state_with_grpc(predictor)
    run_with_client(runner, state, test)
    exposition = state.metrics.exposition().decode()
    assert 'hub_requests_total{http_status="400",module="typed"} 1.0' in exposition


def test_typed_contents_work_as_well_as_raw(runner: asyncio.Runner, predictor: ModulePredictor) -> None:
    request = pb.ModelInferRequest(model_name="tiny")
    request.inputs.add(name="x", datatype="FP32", shape=[1, 3]).contents.fp32_contents.extend([1, 2, 3])
    request.inputs.add(name="count", datatype="INT64", shape=[1]).contents.int64_contents.append(10)

    async def main() -> None:
        state = state_with_grpc(predictor)
        async with grpc_front(state) as address, grpc.aio.insecure_channel(address) as channel:
            response = await GRPCInferenceServiceStub(channel).ModelInfer(request)
            total = np.frombuffer(response.raw_output_contents[1], dtype="<f4")
            assert response.outputs[1].name == "total" and total.tolist() == [16.0]
            request.inputs[1].contents.int64_contents.append(1)
            with pytest.raises(grpc.aio.AioRpcError, match="needs 1 elements"):
                await GRPCInferenceServiceStub(channel).ModelInfer(request)

    runner.run(main())


def test_api_key_from_bearer_metadata(runner: asyncio.Runner, predictor: ModulePredictor) -> None:
    state = state_with_grpc(predictor, api_key=API_KEY)

    async def main() -> None:
        async with grpc_front(state) as address:
            client = grpcclient.InferenceServerClient(address)
            try:
                assert await client.is_server_live()  # health stays open, as on HTTP
                with pytest.raises(InferenceServerException) as refused:
                    await client.get_model_metadata("tiny")
                assert refused.value.status() == "StatusCode.UNAUTHENTICATED"
                wrong = {"authorization": "Bearer not-the-key"}
                with pytest.raises(InferenceServerException):
                    await client.get_model_metadata("tiny", headers=wrong)
                good = {"authorization": f"Bearer {API_KEY}"}
                assert (await client.get_model_metadata("tiny", headers=good)).name == "tiny"
            finally:
                await client.close()

    runner.run(main())
    assert "hub_unauthorized_requests_total 2.0" in state.metrics.exposition().decode()


def test_a_taken_port_is_refused_before_serving(runner: asyncio.Runner, predictor: ModulePredictor) -> None:
    state = state_with_grpc(predictor)

    async def main() -> None:
        async with grpc_front(state):
            with pytest.raises(PortInUse, match=str(state.config.grpc_port)):
                await start_grpc(state)

    runner.run(main())


@dataclass
class FakeControl:
    """What the repository calls use of ``ServerControl``, recording the changes asked for."""

    modules: dict[str, Any] = field(default_factory=lambda: {"echo": object()})
    done: list[tuple[str, Any]] = field(default_factory=list)

    def index(self) -> list[dict[str, Any]]:
        return [
            {"name": "echo", "version": "1.0.0", "state": "READY", "reason": ""},
            {
                "name": "slow",
                "version": "2.0.0",
                "state": "UNAVAILABLE",
                "reason": "loading or replacing workers",
            },
        ]

    async def reload(self, names: list[str]) -> list[str]:
        self.done.append(("reload", names))
        return names

    async def load(self, text: str, entry: Any = None) -> str:
        if text == "broken":
            raise ControlError("broken: no such module; install it first")
        self.done.append(("load", (text, entry)))
        return text

    async def unload(self, name: str) -> None:
        self.done.append(("unload", name))


def test_repository_calls_need_admin_and_reach_the_control(
    runner: asyncio.Runner, predictor: ModulePredictor
) -> None:
    control = FakeControl()

    async def refused(client: Any) -> None:
        with pytest.raises(InferenceServerException) as denied:
            await client.get_model_repository_index()
        assert denied.value.status() == "StatusCode.PERMISSION_DENIED" and "--admin" in denied.value.message()

    async def managed(client: Any) -> None:
        index = await client.get_model_repository_index()
        assert [(m.name, m.state) for m in index.models] == [("echo", "READY"), ("slow", "UNAVAILABLE")]
        await client.load_model("echo")
        await client.load_model("tiny2", config=json.dumps({"init_args": {"directory": "/models/tiny"}}))
        await client.unload_model("echo")
        with pytest.raises(InferenceServerException, match="install it first"):
            await client.load_model("broken")

    state = state_with_grpc(predictor)
    state.control = control  # type: ignore[assignment]
    run_with_client(runner, state, refused)
    admin = state_with_grpc(predictor, admin=True)
    admin.control = control  # type: ignore[assignment]
    run_with_client(runner, admin, managed)
    assert control.done == [
        ("reload", ["echo"]),
        ("load", ("tiny2", {"init_args": {"directory": "/models/tiny"}})),
        ("unload", "echo"),
    ]


class BrokenPredictor(ModulePredictor):
    """A predictor with a bug: every call raises."""

    async def predict(self, module: str, body: bytes | bytearray) -> Any:
        raise RuntimeError("a bug in the predictor")


def test_a_server_bug_is_internal_with_the_request_id(
    runner: asyncio.Runner, predictor: ModulePredictor, caplog: pytest.LogCaptureFixture
) -> None:
    broken = BrokenPredictor(predictor.handlers)

    async def test(client: Any) -> None:
        texts = InferInput("texts", [1], "BYTES")
        texts.set_data_from_numpy(np.array([b"a"], dtype=object))
        with pytest.raises(InferenceServerException) as failed:
            await client.infer("echo", [texts], headers={"x-request-id": "trace-7"})
        assert failed.value.status() == "StatusCode.INTERNAL"
        assert "trace-7" in failed.value.message() and "a bug" not in failed.value.message()

    run_with_client(runner, state_with_grpc(broken), test)
    assert any("trace-7" in record.getMessage() and record.exc_info for record in caplog.records)
