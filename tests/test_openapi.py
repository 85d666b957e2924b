"""``GET /openapi.json``: generated from the loaded modules' serving signatures and type hints; and
Schemathesis against it on a running server finds no 5xx."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hubserving.errors import Code
from hubserving.v2 import typetext
from hubserving.v2.openapi import document, openapi_routes
from tests.serverproc import ServerProcess, free_port
from tests.test_exported_model import build_onnx
from tests.test_v2_http import ModulePredictor, app_client, serving_state, tiny_predictor

FIXTURES = Path(__file__).parent / "fixtures" / "modules"


@pytest.fixture(scope="module")
def predictor(tmp_path_factory: pytest.TempPathFactory) -> ModulePredictor:
    return tiny_predictor(tmp_path_factory)


@pytest.fixture
def spec(predictor: ModulePredictor) -> dict[str, Any]:
    return document(serving_state(predictor))


def body_schema(spec: dict[str, Any], module: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec["paths"][f"/predict/{module}"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    return schema


@pytest.mark.parametrize(
    ("hint", "schema"),
    [
        ("str", {"type": "string"}),
        ("list[str]", {"type": "array", "items": {"type": "string"}}),
        ("int | None", {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        ("Optional[float]", {"anyOf": [{"type": "number"}, {"type": "null"}]}),
        (
            "dict[str, list[int]]",
            {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "integer"}}},
        ),
        ("Literal['a', 2]", {"enum": ["a", 2]}),
        (
            "tuple[int, str]",
            {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "minItems": 2,
                "maxItems": 2,
            },
        ),
        ("tuple[int, ...]", {"type": "array", "items": {"type": "integer"}}),
        ("collections.abc.Sequence[bool]", {"type": "array", "items": {"type": "boolean"}}),
        ("ndarray", {}),
        ("str | Any", {}),
        ("", {}),
        ("not python ][", {}),
    ],
)
def test_type_hints_become_json_schemas(hint: str, schema: dict[str, Any]) -> None:
    assert typetext.schema(hint) == schema


def test_a_module_body_schema_comes_from_its_signature(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    echo = body_schema(spec, "echo")
    assert echo["required"] == ["texts"]
    assert echo["properties"]["texts"]["type"] == "array"
    assert echo["properties"]["texts"]["items"] == {"type": "string"}
    assert echo["properties"]["upper"] == {
        "type": "boolean",
        "default": False,
        "description": "type hint: bool",
    }
    assert echo["properties"]["text"]["description"] == "another name for texts"
    assert spec["paths"]["/predict/echo"]["post"]["summary"] == "Echo texts back (test module)"


def test_predict_args_set_the_defaults(predictor: ModulePredictor) -> None:
    state = serving_state(predictor)
    handler = predictor.handlers["typed"]
    handler.predict_args["top_k"] = 7
    try:
        typed = body_schema(document(state), "typed")
    finally:
        del handler.predict_args["top_k"]
    assert typed["properties"]["top_k"]["default"] == 7


def test_an_exported_model_body_lists_its_inputs(spec: dict[str, Any]) -> None:
    inputs = body_schema(spec, "tiny")["properties"]["inputs"]
    assert inputs["required"] == ["x", "count"]
    assert "float32" in inputs["properties"]["x"]["description"]
    results = spec["paths"]["/predict/tiny"]["post"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    assert set(results["allOf"][1]["properties"]["results"]["properties"]) == {"y", "total"}


def test_every_error_code_is_documented_with_its_status(spec: dict[str, Any]) -> None:
    responses = spec["paths"]["/predict/echo"]["post"]["responses"]
    for code in Code:
        if code is not Code.OK:
            assert f"{code.status}: " in responses[str(code.http_status)]["description"], code
    assert {"116", "117", "119", "124"} <= {part[:3] for part in responses["503"]["description"].split("; ")}
    assert spec["components"]["schemas"]["Envelope"]["required"] == ["msg", "results", "status"]


def test_v2_routes_and_security_are_described(predictor: ModulePredictor) -> None:
    spec = document(serving_state(predictor, {"api_key": "a-long-secret"}))
    infer = spec["paths"]["/v2/models/{name}/infer"]["post"]
    assert infer["parameters"][0]["schema"]["enum"] == ["echo", "tiny", "typed"]
    assert "bearer" in spec["components"]["securitySchemes"] and spec["security"]
    assert spec["paths"]["/v2/health/live"]["get"]["security"] == []
    assert "securitySchemes" not in document(serving_state(predictor))["components"]


def test_the_document_is_served_and_is_valid_openapi(predictor: ModulePredictor) -> None:
    schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis")
    with app_client(serving_state(predictor), openapi_routes()) as client:
        answer = client.get("/openapi.json")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    operations = list(schemathesis.openapi.from_dict(answer.json()).get_all_operations())
    assert operations and all(type(result).__name__ == "Ok" for result in operations)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """lac and the tiny ONNX model (echo is left out: it can be told to crash, sleep and fail)."""
    pytest.importorskip("paddle", reason="the lac extra is not installed: pip install -e '.[lac]'")
    home = tmp_path_factory.mktemp("hub_home")
    shutil.copytree(FIXTURES, home / "modules")
    folder = tmp_path_factory.mktemp("models") / "tiny_model"
    folder.mkdir()
    build_onnx(folder / "model.onnx")
    port = free_port()
    with ServerProcess(["-m", "lac", str(folder), "-p", str(port)], home, port) as server:
        yield server


def test_schemathesis_finds_no_server_error(running: ServerProcess, tmp_path: Path) -> None:
    """Bounded: a few examples per operation, at most 60 s of fuzzing."""
    pytest.importorskip("schemathesis", reason="pip install schemathesis")
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{running.url}/openapi.json",
        "--checks", "not_a_server_error", "--phases", "coverage,fuzzing", "--max-examples", "10",
        "--max-time", "60", "--request-timeout", "30", "--generation-deterministic", "--no-color",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
