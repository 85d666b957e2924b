"""The V2 REST routes in-process: real modules (echo, a tiny ONNX model) behind the real worker-side
handler, without worker processes; tritonclient's own encoder and decoder for the binary extension.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from hubserving import envelope
from hubserving.config import config_from_json
from hubserving.errors import Code
from hubserving.http.state import ServingState
from hubserving.metrics import ServerMetrics
from hubserving.runtime.handler import ModuleHandler
from hubserving.runtime.messages import ModuleDescription, ModuleSpec, PredictCall, PredictReply
from hubserving.runtime.worker import build_handler, describe
from hubserving.v2.http import v2_routes
from tests.test_exported_model import WEIGHTS, build_onnx

FIXTURES = Path(__file__).parent / "fixtures" / "modules"
EXPORTED = Path(__file__).resolve().parents[1] / "src" / "hubserving" / "modules" / "exported_model"

httpclient = pytest.importorskip("tritonclient.http", reason="pip install 'tritonclient[http,grpc]'")
pytest.importorskip("onnxruntime", reason='onnxruntime is not installed: pip install -e ".[exported]"')


@dataclass
class ModulePredictor:
    """A ``Predictor`` that runs real modules in this process through the worker's own handler."""

    handlers: dict[str, ModuleHandler]
    ready: bool = True
    bodies: list[bytes] = field(default_factory=list)

    async def predict(self, module: str, body: bytes | bytearray) -> PredictReply:
        self.bodies.append(bytes(body))
        handler = self.handlers.get(module)
        if handler is None:
            failed = envelope.failure(Code.MODULE_NOT_AVAILABLE, f"Module {module} is not available.")
            return PredictReply(0, 404, failed)
        return handler.handle([PredictCall(0, module, body)])[0]

    @property
    def module_names(self) -> frozenset[str]:
        return frozenset(self.handlers)

    @property
    def descriptions(self) -> tuple[ModuleDescription, ...]:
        return tuple(describe(handler) for handler in self.handlers.values()) if self.ready else ()

    @property
    def depth(self) -> Mapping[str, int]:
        return {}

    def pids(self) -> list[int]:
        return [os.getpid()]

    def ready_workers(self) -> int:
        return 1

    def module_workers(self) -> dict[str, dict[str, Any]]:
        return {name: {"ready": 1, "of": 1, "workers": []} for name in self.handlers}


def module_predictor(model_folder: Path) -> ModulePredictor:
    specs = [
        ModuleSpec("echo", FIXTURES / "echo"),
        ModuleSpec("typed", FIXTURES / "typed"),
        ModuleSpec("tiny", EXPORTED, {"model_dir": str(model_folder)}),
    ]
    return ModulePredictor({spec.name: build_handler(spec, use_gpu=False) for spec in specs})


def serving_state(predictor: Any, settings: Mapping[str, Any] | None = None) -> ServingState:
    config = config_from_json({"modules_info": {"echo": {}, "typed": {}, "tiny": {}}, **(settings or {})})
    return ServingState(config, predictor, ServerMetrics(m.name for m in config.modules))


def v2_app(state: ServingState, routes: list[BaseRoute] | None = None) -> Starlette:
    app = Starlette(routes=v2_routes() if routes is None else routes)
    app.state.serving = state
    return app


class AppClient:
    """A synchronous client of an ASGI app, on an event loop of its own."""

    def __init__(self, app: Any, runner: asyncio.Runner) -> None:
        self.runner = runner
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.runner.run(self.http.get(url, **kwargs))

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.runner.run(self.http.post(url, **kwargs))


@contextmanager
def app_client(state: ServingState, routes: list[BaseRoute] | None = None) -> Iterator[AppClient]:
    with asyncio.Runner() as runner:
        client = AppClient(v2_app(state, routes), runner)
        try:
            yield client
        finally:
            runner.run(client.http.aclose())


def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a small ONNX model (``model.onnx``)."""
    folder = tmp_path_factory.mktemp("tiny")
    build_onnx(folder / "model.onnx")
    return folder


def tiny_predictor(tmp_path_factory: pytest.TempPathFactory) -> ModulePredictor:
    """``echo``, ``typed`` and ``tiny`` (the small ONNX model), loaded in this process."""
    return module_predictor(tiny_model(tmp_path_factory))


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory)


@pytest.fixture(scope="module")
def predictor(model_folder: Path) -> ModulePredictor:
    return module_predictor(model_folder)


@pytest.fixture
def client(predictor: ModulePredictor) -> Iterator[AppClient]:
    predictor.ready = True
    with app_client(serving_state(predictor)) as test_client:
        yield test_client


def infer_binary(client: AppClient, model: str, inputs: list[Any], outputs: list[Any] | None = None) -> Any:
    """POST tritonclient's own request body (binary tensors) and decode the answer with tritonclient."""
    body, json_size = httpclient.InferenceServerClient.generate_request_body(inputs, outputs=outputs)
    headers = {} if json_size is None else {"Inference-Header-Content-Length": str(json_size)}
    answer = client.post(f"/v2/models/{model}/infer", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    length = answer.headers.get("inference-header-content-length")
    return httpclient.InferResult.from_response_body(answer.content, header_length=length and int(length))


def tiny_inputs(x: np.ndarray, count: np.ndarray, binary: bool = True) -> list[Any]:
    first = httpclient.InferInput("x", list(x.shape), "FP32")
    first.set_data_from_numpy(x, binary_data=binary)
    second = httpclient.InferInput("count", list(count.shape), "INT64")
    second.set_data_from_numpy(count, binary_data=binary)
    return [first, second]


def test_server_metadata_health_and_readiness(client: AppClient, predictor: ModulePredictor) -> None:
    metadata = client.get("/v2").json()
    assert metadata["name"] == "hubserving" and "binary_tensor_data" in metadata["extensions"]
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").status_code == 200
    assert client.get("/v2/models/echo/ready").json() == {"name": "echo", "ready": True}
    assert client.get("/v2/models/tiny/versions/1.0.0/ready").status_code == 200
    predictor.ready = False
    assert client.get("/v2/health/ready").status_code == 503
    loading = client.get("/v2/models/echo/ready")
    assert loading.status_code == 503 and loading.json() == {"name": "echo", "ready": False}
    infer = client.post("/v2/models/echo/infer", json={"inputs": []})
    assert infer.status_code == 503 and "still loading" in infer.json()["error"]
    assert infer.headers["retry-after"] == "1"


def test_unknown_models_and_versions_are_404_with_an_error_object(client: AppClient) -> None:
    missing = client.get("/v2/models/nothing")
    assert missing.status_code == 404 and "echo" in missing.json()["error"]
    assert client.get("/v2/models/nothing/ready").status_code == 404
    wrong = client.get("/v2/models/echo/versions/9.9.9")
    assert wrong.status_code == 404 and "1.0.0" in wrong.json()["error"]
    assert client.post("/v2/models/nothing/infer", json={"inputs": []}).status_code == 404


def test_exported_model_metadata_has_its_real_tensors(client: AppClient) -> None:
    metadata = client.get("/v2/models/tiny").json()
    assert metadata["platform"] == "onnx_onnxv1" and metadata["versions"] == ["1.0.0"]
    assert metadata["inputs"] == [
        {"name": "x", "datatype": "FP32", "shape": [-1, 3]},
        {"name": "count", "datatype": "INT64", "shape": [-1]},
    ]
    assert [output["name"] for output in metadata["outputs"]] == ["y", "total"]
    assert {output["datatype"] for output in metadata["outputs"]} == {"FP32"}


def test_module_metadata_maps_arguments_to_tensors(client: AppClient) -> None:
    metadata = client.get("/v2/models/echo").json()
    inputs = {tensor["name"]: tensor for tensor in metadata["inputs"]}
    assert inputs["texts"] == {"name": "texts", "datatype": "BYTES", "shape": [-1]}
    assert inputs["upper"] == {"name": "upper", "datatype": "BOOL", "shape": [1]}
    assert inputs["sleep_s"] == {"name": "sleep_s", "datatype": "FP64", "shape": [1]}
    assert metadata["outputs"] == [{"name": "results", "datatype": "BYTES", "shape": [-1]}]
    assert metadata["platform"] == "hubserving_echo"


def test_exported_model_binary_and_json_tensors_equal_onnxruntime(
    client: AppClient, model_folder: Path
) -> None:
    import onnxruntime

    session = onnxruntime.InferenceSession(
        str(model_folder / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    x = np.random.default_rng(7).standard_normal((4, 3)).astype(np.float32)
    count = np.array([1, 2, 3, 4], dtype=np.int64)
    expected_y, expected_total = session.run(["y", "total"], {"x": x, "count": count})
    for binary in (True, False):
        requested = [httpclient.InferRequestedOutput(name, binary_data=binary) for name in ("y", "total")]
        result = infer_binary(client, "tiny", tiny_inputs(x, count, binary), requested)
        assert result.as_numpy("y").dtype == np.float32 and result.as_numpy("y").shape == (4, 2)
        np.testing.assert_allclose(result.as_numpy("y"), expected_y, atol=1e-5)
        np.testing.assert_allclose(result.as_numpy("total"), expected_total, atol=1e-5)
    assert np.allclose(expected_y, x @ np.array(WEIGHTS, dtype=np.float32), atol=1e-5)


def test_plain_json_request_and_answer(client: AppClient) -> None:
    request = {
        "id": "42",
        "inputs": [
            {"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]},
            {"name": "count", "datatype": "INT64", "shape": [1], "data": [10]},
        ],
        "outputs": [{"name": "total"}],
    }
    answer = client.post("/v2/models/tiny/infer", json=request)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {
        "model_name": "tiny",
        "model_version": "1.0.0",
        "id": "42",
        "outputs": [{"name": "total", "datatype": "FP32", "shape": [1], "data": [16.0]}],
    }


def test_module_texts_over_bytes_give_one_json_document_per_text(
    client: AppClient, predictor: ModulePredictor
) -> None:
    texts = httpclient.InferInput("texts", [2], "BYTES")
    texts.set_data_from_numpy(np.array(["今天", "b"], dtype=object))
    result = infer_binary(client, "echo", [texts])
    documents = [json.loads(item) for item in result.as_numpy("results")]
    assert [document["text"] for document in documents] == ["今天", "b"]
    assert json.loads(predictor.bodies[-1]) == {"texts": ["今天", "b"]}
    direct = predictor.handlers["echo"].handle(
        [PredictCall(0, "echo", b'{"texts": ["\\u4eca\\u5929", "b"]}')]
    )
    assert [d["text"] for d in json.loads(direct[0].body)["results"]] == ["今天", "b"]


def test_scalars_as_parameters_or_one_element_tensors(client: AppClient, predictor: ModulePredictor) -> None:
    texts = {"name": "texts", "datatype": "BYTES", "shape": [2, 1], "data": [["a"], ["b"]]}
    upper = {"name": "upper", "datatype": "BOOL", "shape": [1], "data": [True]}
    answer = client.post("/v2/models/echo/infer", json={"inputs": [texts, upper]})
    assert answer.status_code == 200, answer.text
    [output] = answer.json()["outputs"]
    assert output["shape"] == [2] and [json.loads(d)["text"] for d in output["data"]] == ["A", "B"]
    by_parameter = {"inputs": [texts], "parameters": {"upper": True, "binary_data_output": False}}
    assert client.post("/v2/models/echo/infer", json=by_parameter).status_code == 200
    assert json.loads(predictor.bodies[-1]) == {"texts": ["a", "b"], "upper": True}
    twice = {"inputs": [texts, upper], "parameters": {"upper": True}}
    refused = client.post("/v2/models/echo/infer", json=twice)
    assert refused.status_code == 400 and "'upper'" in refused.json()["error"]


def test_module_errors_keep_their_status_and_message(client: AppClient) -> None:
    texts = {"name": "texts", "datatype": "BYTES", "shape": [1], "data": ["refuse me"]}
    refused = client.post("/v2/models/typed/infer", json={"inputs": [texts]})
    assert refused.status_code == 400 and "refuse me" in refused.json()["error"]
    texts["data"] = ["bug"]
    failed = client.post("/v2/models/typed/infer", json={"inputs": [texts]})
    assert failed.status_code == 500 and "traceback" in failed.json()["error"]
    unknown = {"name": "nope", "datatype": "INT64", "shape": [1], "data": [1]}
    wrong = client.post("/v2/models/echo/infer", json={"inputs": [texts, unknown]})
    assert wrong.status_code == 400 and "'nope'" in wrong.json()["error"]


@pytest.mark.parametrize(
    ("request_body", "says"),
    [
        (b"{not json", "does not parse"),
        (b"[1, 2]", "JSON object"),
        (b'{"inputs": 3}', '"inputs" must be a list'),
        (b'{"inputs": [{"name": "x", "datatype": "FP99", "shape": [1], "data": [1]}]}', "FP99"),
        (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "data": [1]}]}', "needs 2 elements"),
        (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1], "data": [1]}]}', "non-negative"),
        (b'{"inputs": [{"name": "x", "datatype": "INT64", "shape": [1], "data": [1.5]}]}', "integers"),
        (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": ["a"]}]}', "numbers"),
        (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1]}]}', 'no "data"'),
        (b'{"inputs": [], "outputs": [{"name": "z"}]}', "unknown output 'z'"),
        (b'{"inputs": [], "parameters": {"a": [1]}}', "parameter 'a'"),
        (b'{"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["a"]}]}', "BYTES"),
    ],
)
def test_malformed_requests_are_400_saying_what_to_fix(
    client: AppClient, request_body: bytes, says: str
) -> None:
    answer = client.post("/v2/models/tiny/infer", content=request_body)
    assert answer.status_code == 400, answer.text
    assert says in answer.json()["error"]


def test_binary_sizes_must_fit_the_body(client: AppClient) -> None:
    tensor = {"name": "x", "datatype": "FP32", "shape": [1, 3], "parameters": {"binary_data_size": 12}}
    header = json.dumps({"inputs": [tensor]}).encode()
    short = client.post(
        "/v2/models/tiny/infer",
        content=header + b"\0" * 8,
        headers={"Inference-Header-Content-Length": str(len(header))},
    )
    assert short.status_code == 400 and "binary_data_size" in short.json()["error"]
    extra = client.post(
        "/v2/models/tiny/infer",
        content=header + b"\0" * 16,
        headers={"Inference-Header-Content-Length": str(len(header))},
    )
    assert extra.status_code == 400 and "4 bytes" in extra.json()["error"]
    beyond = client.post(
        "/v2/models/tiny/infer", content=header, headers={"Inference-Header-Content-Length": "9999"}
    )
    assert beyond.status_code == 400 and "9999" in beyond.json()["error"]


def test_body_limit_and_compressed_bodies(predictor: ModulePredictor) -> None:
    state = serving_state(predictor, {"max_body_mb": 0.001})
    request = {"inputs": [{"name": "texts", "datatype": "BYTES", "shape": [1], "data": ["x" * 2000]}]}
    with app_client(state) as client:
        big = client.post("/v2/models/echo/infer", json=request)
        assert big.status_code == 413 and "max_body_mb" in big.json()["error"]
        bomb = gzip.compress(json.dumps(request).encode())
        zipped = client.post("/v2/models/echo/infer", content=bomb, headers={"Content-Encoding": "gzip"})
        assert zipped.status_code == 413
    with app_client(serving_state(predictor)) as client:
        small = gzip.compress(json.dumps({"inputs": [{**request["inputs"][0], "data": ["hi"]}]}).encode())
        answer = client.post("/v2/models/echo/infer", content=small, headers={"Content-Encoding": "gzip"})
        assert answer.status_code == 200, answer.text
        brotli = client.post("/v2/models/echo/infer", content=b"x", headers={"Content-Encoding": "br"})
        assert brotli.status_code == 415 and "gzip" in brotli.json()["error"]


def test_infer_is_counted_in_the_metrics(predictor: ModulePredictor) -> None:
    state = serving_state(predictor)
    with app_client(state) as client:
        texts = {"name": "texts", "datatype": "BYTES", "shape": [1], "data": ["a"]}
        assert client.post("/v2/models/echo/infer", json={"inputs": [texts]}).status_code == 200
        assert client.post("/v2/models/echo/infer", content=b"{").status_code == 400
    exposition = state.metrics.exposition().decode()
    assert 'hub_requests_total{http_status="200",module="echo"} 1.0' in exposition
    assert 'hub_requests_total{http_status="400",module="echo"} 1.0' in exposition


def test_a_server_bug_is_500_with_the_request_id(predictor: ModulePredictor) -> None:
    class Broken(ModulePredictor):
        async def predict(self, module: str, body: bytes | bytearray) -> PredictReply:
            raise RuntimeError("a bug in the predictor")

    with app_client(serving_state(Broken(predictor.handlers))) as client:
        texts = {"name": "texts", "datatype": "BYTES", "shape": [1], "data": ["a"]}
        answer = client.post(
            "/v2/models/echo/infer", json={"inputs": [texts]}, headers={"X-Request-ID": "t-9"}
        )
    assert (
        answer.status_code == 500 and "t-9" in answer.json()["error"] and "bug" not in answer.json()["error"]
    )
    assert answer.headers["x-request-id"] == "t-9"
