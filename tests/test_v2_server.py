"""The issue's demonstration on a real server: a tiny ONNX model, lac and echo served together with
``--grpc-port``, called with Triton's HTTP (binary and JSON tensors) and gRPC clients."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.serverproc import ServerProcess, free_port
from tests.test_exported_model import build_onnx

httpclient = pytest.importorskip("tritonclient.http", reason="pip install 'tritonclient[http,grpc]'")
grpcclient = pytest.importorskip("tritonclient.grpc", reason="pip install 'tritonclient[http,grpc]'")
onnxruntime = pytest.importorskip(
    "onnxruntime", reason='onnxruntime is not installed: pip install -e ".[exported]"'
)
pytest.importorskip("paddle", reason="the lac extra is not installed: pip install -e '.[lac]'")

FIXTURES = Path(__file__).parent / "fixtures" / "modules"
TEXTS = ["今天是个好日子", "天气预报说今天要下雨", ""]


class Served:
    """The running server and a client of each kind."""

    def __init__(self, server: ServerProcess, grpc_port: int, model_file: Path) -> None:
        self.server = server
        self.http = httpclient.InferenceServerClient(f"127.0.0.1:{server.port}")
        self.grpc = grpcclient.InferenceServerClient(f"127.0.0.1:{grpc_port}")
        self.session = onnxruntime.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("hub_home")
    shutil.copytree(FIXTURES, home / "modules")
    folder = tmp_path_factory.mktemp("models") / "tiny_model"
    folder.mkdir()
    build_onnx(folder / "model.onnx")
    port, grpc_port = free_port(), free_port()
    args = ["-m", "lac", str(folder), "echo", "-p", str(port), "--grpc-port", str(grpc_port)]
    with ServerProcess(args, home, port) as server:
        clients = Served(server, grpc_port, folder / "model.onnx")
        try:
            yield clients
        finally:
            clients.http.close()
            clients.grpc.close()


def tiny_inputs(module: Any, x: np.ndarray, count: np.ndarray, binary: bool = True) -> list[Any]:
    inputs = [
        module.InferInput("x", list(x.shape), "FP32"),
        module.InferInput("count", list(count.shape), "INT64"),
    ]
    if module is httpclient:
        inputs[0].set_data_from_numpy(x, binary_data=binary)
        inputs[1].set_data_from_numpy(count, binary_data=binary)
    else:
        inputs[0].set_data_from_numpy(x)
        inputs[1].set_data_from_numpy(count)
    return inputs


def random_batch(seed: int) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    return generator.standard_normal((6, 3)).astype(np.float32), generator.integers(0, 100, 6).astype(
        np.int64
    )


def test_health_and_metadata_over_http_and_grpc(served: Served) -> None:
    for client in (served.http, served.grpc):
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("tiny_model") and client.is_model_ready("lac")
        assert not client.is_model_ready("tiny_model", "9.9")
    http_metadata = served.http.get_model_metadata("tiny_model")
    assert [(t["name"], t["datatype"]) for t in http_metadata["inputs"]] == [
        ("x", "FP32"),
        ("count", "INT64"),
    ]
    grpc_metadata = served.grpc.get_model_metadata("tiny_model")
    assert [(t.name, t.datatype) for t in grpc_metadata.inputs] == [("x", "FP32"), ("count", "INT64")]
    lac = served.http.get_model_metadata("lac")
    assert {"name": "texts", "datatype": "BYTES", "shape": [-1]} in lac["inputs"]
    assert served.grpc.get_server_metadata().name == "hubserving"


def test_fp32_infer_equals_onnxruntime_over_each_protocol(served: Served) -> None:
    x, count = random_batch(11)
    expected_y, expected_total = served.session.run(["y", "total"], {"x": x, "count": count})
    answers = [
        served.http.infer("tiny_model", tiny_inputs(httpclient, x, count, binary=True)),
        served.http.infer(
            "tiny_model",
            tiny_inputs(httpclient, x, count, binary=False),
            outputs=[httpclient.InferRequestedOutput(name, binary_data=False) for name in ("y", "total")],
        ),
        served.grpc.infer("tiny_model", tiny_inputs(grpcclient, x, count)),
    ]
    for answer in answers:
        assert answer.as_numpy("y").dtype == np.float32
        np.testing.assert_allclose(answer.as_numpy("y"), expected_y, atol=1e-5)
        np.testing.assert_allclose(answer.as_numpy("total"), expected_total, atol=1e-5)


def lac_documents(answer: Any) -> list[Any]:
    return [json.loads(document) for document in answer.as_numpy("results")]


def test_lac_texts_over_bytes_equal_predict_results(served: Served) -> None:
    predicted = served.server.post("lac", {"texts": TEXTS}).json()["results"]
    texts = np.array([text.encode() for text in TEXTS], dtype=object)
    http_texts = httpclient.InferInput("texts", [len(TEXTS)], "BYTES")
    http_texts.set_data_from_numpy(texts)
    grpc_texts = grpcclient.InferInput("texts", [len(TEXTS)], "BYTES")
    grpc_texts.set_data_from_numpy(texts)
    assert lac_documents(served.http.infer("lac", [http_texts])) == predicted
    assert lac_documents(served.grpc.infer("lac", [grpc_texts])) == predicted
    no_tags = served.grpc.infer("lac", [grpc_texts], parameters={"return_tag": False})
    assert lac_documents(no_tags)[0] == {"word": predicted[0]["word"]}


def test_errors_come_back_in_each_protocols_form(served: Served) -> None:
    answer = served.server.client.post("/v2/models/lac/infer", json={"inputs": [{"name": "texts"}]})
    assert answer.status_code == 400 and "datatype" in answer.json()["error"]
    assert served.server.client.get("/v2/models/nothing").status_code == 404
    texts = grpcclient.InferInput("texts", [1], "BYTES")
    texts.set_data_from_numpy(np.array([b"x"], dtype=object))
    with pytest.raises(grpcclient.InferenceServerException) as refused:
        served.grpc.infer("lac", [texts], parameters={"no_such_argument": 1})
    assert (
        refused.value.status() == "StatusCode.INVALID_ARGUMENT"
        and "no_such_argument" in refused.value.message()
    )


def test_v2_and_predict_requests_batch_together(served: Served) -> None:
    url = served.server.url

    def via_predict(text: str) -> int:
        body = {"texts": [text], "sleep_s": 0.05}
        return int(httpx.post(f"{url}/predict/echo", json=body, timeout=30).json()["results"][0]["calls"])

    def via_v2(text: str) -> int:
        tensor = {"name": "texts", "datatype": "BYTES", "shape": [1], "data": [text]}
        body = {"inputs": [tensor], "parameters": {"sleep_s": 0.05}}
        [output] = httpx.post(f"{url}/v2/models/echo/infer", json=body, timeout=30).json()["outputs"]
        return int(json.loads(output["data"][0])["calls"])

    with ThreadPoolExecutor(9) as pool:
        blocker = pool.submit(httpx.post, f"{url}/predict/echo", json={"texts": ["block"], "sleep_s": 1.0})
        time.sleep(0.15)  # the worker is busy: what arrives now waits, and is merged
        predicted = [pool.submit(via_predict, f"p{i}") for i in range(4)]
        inferred = [pool.submit(via_v2, f"v{i}") for i in range(4)]
        assert blocker.result().status_code == 200
        calls_predict = {future.result() for future in predicted}
        calls_v2 = {future.result() for future in inferred}
    assert calls_predict & calls_v2, f"no call answered both: /predict {calls_predict}, V2 {calls_v2}"


def test_grpc_infer_shows_in_the_metrics(served: Served) -> None:
    x, count = random_batch(5)
    served.grpc.infer("tiny_model", tiny_inputs(grpcclient, x, count))
    metrics = served.server.client.get("/metrics").text
    assert 'hub_requests_total{http_status="200",module="tiny_model"}' in metrics


KSERVE_CLIENT = """
import asyncio, json, sys
import numpy as np
import kserve

async def main(url, x, count):
    client = kserve.InferenceRESTClient(kserve.RESTConfig(protocol="v2", retries=1))
    answers = {"ready": await client.is_server_ready(url)}
    answers["model_ready"] = await client.is_model_ready(url, "tiny_model")
    try:
        for binary in (False, True):
            inputs = [kserve.InferInput("x", list(x.shape), "FP32")]
            inputs.append(kserve.InferInput("count", [len(count)], "INT64"))
            inputs[0].set_data_from_numpy(x, binary_data=binary)
            inputs[1].set_data_from_numpy(count, binary_data=binary)
            request = kserve.InferRequest("tiny_model", inputs)
            response = await client.infer(url, request, model_name="tiny_model")
            answers[str(binary)] = {output.name: output.as_numpy().tolist() for output in response.outputs}
    finally:
        await client.close()
    print(json.dumps(answers))

x = np.array(json.loads(sys.argv[2]), dtype=np.float32)
count = np.array(json.loads(sys.argv[3]), dtype=np.int64)
asyncio.run(main(sys.argv[1], x, count))
"""


def test_kserve_rest_client(served: Served) -> None:
    """KServe's own REST client, in a process of its own: the kserve SDK and tritonclient.grpc register
    the same protobuf names and cannot be imported into one process. Not in the test extra: the SDK is
    heavy (kubernetes, fastapi, pandas) and pins psutil<6; it runs where ``pip install kserve`` was done."""
    if importlib.util.find_spec("kserve") is None:
        pytest.skip("the kserve SDK is not installed: pip install kserve")
    x, count = random_batch(17)
    expected_y, _ = served.session.run(["y", "total"], {"x": x, "count": count})
    arguments = [served.server.url, json.dumps(x.tolist()), json.dumps(count.tolist())]
    result = subprocess.run(
        [sys.executable, "-c", KSERVE_CLIENT, *arguments], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answers = json.loads(result.stdout)
    assert answers["ready"] and answers["model_ready"]
    for binary in ("False", "True"):
        np.testing.assert_allclose(np.array(answers[binary]["y"]), expected_y, atol=1e-5)
