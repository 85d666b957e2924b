"""The V2 routes in the OpenAPI document, after the protocol's own ``open_inference_rest.yaml``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hubserving.v2.tensors import DATATYPES

Schema = dict[str, Any]
ERROR = {"$ref": "#/components/schemas/V2Error"}
_PARAMETERS = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Schema) -> Schema:
    return {"application/json": {"schema": schema}}


def _errors(*statuses: int) -> dict[str, Schema]:
    return {str(status): {"description": "an error", "content": _json(ERROR)} for status in statuses}


def v2_paths(models: Sequence[str]) -> dict[str, Schema]:
    """``/v2``, health, and per model: metadata, readiness and inference."""
    name = {
        "name": "name",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": list(models)},
    }

    def get(summary: str, schema: Schema, *errors: int, with_name: bool = False) -> Schema:
        operation: Schema = {
            "summary": summary,
            "responses": {"200": {"description": summary, "content": _json(schema)}} | _errors(*errors),
        }
        if with_name:
            operation["parameters"] = [name]
        return {"get": operation}

    live = {"type": "object", "properties": {"live": {"type": "boolean"}}}
    ready = {"type": "object", "properties": {"ready": {"type": "boolean"}}}
    model_ready = {"type": "object", "properties": {"name": {"type": "string"}, "ready": {"type": "boolean"}}}
    infer = {
        "summary": "inference with JSON tensors (Triton's binary tensor data extension works too)",
        "parameters": [name],
        "requestBody": {"required": True, "content": _json(_ref("InferenceRequest"))},
        "responses": {"200": {"description": "the outputs", "content": _json(_ref("InferenceResponse"))}}
        | _errors(400, 404, 413, 415, 500, 503, 504),
    }
    paths = {
        "/v2": get("server metadata", _ref("ServerMetadata")),
        "/v2/health/live": get("the process answers", live),
        "/v2/health/ready": get("every model is loaded (503 while loading)", ready, 503),
        "/v2/models/{name}": get("model metadata", _ref("ModelMetadata"), 404, 503, with_name=True),
        "/v2/models/{name}/ready": get(
            "the model is loaded (503 while loading)", model_ready, 404, 503, with_name=True
        ),
        "/v2/models/{name}/infer": {"post": infer},
    }
    for path in ("/v2/health/live", "/v2/health/ready"):
        paths[path]["get"]["security"] = []
    return paths


def v2_schemas() -> dict[str, Schema]:
    tensor_metadata = {
        "type": "object",
        "required": ["name", "datatype", "shape"],
        "properties": {
            "name": {"type": "string"},
            "datatype": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer"}},
        },
    }
    tensor = {
        "type": "object",
        "required": ["name", "datatype", "shape"],
        "properties": {
            "name": {"type": "string"},
            "datatype": {"type": "string", "enum": sorted(DATATYPES)},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "parameters": _PARAMETERS,
            "data": {"type": "array"},
        },
    }
    requested = {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}, "parameters": _PARAMETERS},
    }
    return {
        "V2Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
        "ServerMetadata": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "extensions": {"type": "array", "items": {"type": "string"}},
            },
        },
        "ModelMetadata": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "versions": {"type": "array", "items": {"type": "string"}},
                "platform": {"type": "string"},
                "inputs": {"type": "array", "items": tensor_metadata},
                "outputs": {"type": "array", "items": tensor_metadata},
            },
        },
        "InferenceRequest": {
            "type": "object",
            "required": ["inputs"],
            "properties": {
                "id": {"type": "string"},
                "parameters": _PARAMETERS,
                "inputs": {"type": "array", "items": tensor},
                "outputs": {"type": "array", "items": requested},
            },
        },
        "InferenceResponse": {
            "type": "object",
            "required": ["model_name", "outputs"],
            "properties": {
                "model_name": {"type": "string"},
                "model_version": {"type": "string"},
                "id": {"type": "string"},
                "parameters": _PARAMETERS,
                "outputs": {"type": "array", "items": tensor},
            },
        },
    }
