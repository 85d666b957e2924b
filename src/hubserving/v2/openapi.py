"""``GET /openapi.json``: an OpenAPI 3.1 document of this server, generated from its loaded modules.

Each ``POST /predict/<name>`` gets a body schema from its serving method's parameters and type
hints (defaults as ``predict_args`` set them), the envelope, and every error code with its HTTP
status; the V2 routes are described too. Built on each request: modules come and go.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hubserving import __version__, envelope
from hubserving.errors import Code
from hubserving.http.state import ServingState
from hubserving.runtime.messages import ModuleDescription
from hubserving.v2 import codec, typetext
from hubserving.v2.openapi_v2 import v2_paths, v2_schemas

Schema = dict[str, Any]
OPENAPI_VERSION = "3.1.0"
ENVELOPE = {"$ref": "#/components/schemas/Envelope"}
# What each envelope code means, for the error responses' descriptions.
MEANINGS = {
    Code.OK: "success",
    Code.INVALID_ARGUMENTS: "the arguments do not fit the serving method (unknown key, wrong type, value)",
    Code.PREDICT_FAILED: "the serving method raised (the traceback is in the worker's log)",
    Code.MODULE_NOT_AVAILABLE: "no such module on this server",
    Code.NOT_JSON_CONTENT_TYPE: "the body is not application/json (or multipart/form-data for images)",
    Code.MALFORMED_JSON: "the body is not valid JSON",
    Code.BODY_NOT_OBJECT: "the body is JSON but not an object",
    Code.BODY_TOO_LARGE: "the body is over the server's max_body_mb",
    Code.NOT_READY: "the module is still loading",
    Code.OVERLOADED: "too many requests wait for this module; retry after Retry-After",
    Code.TIMEOUT: "the request ran past the server's timeout",
    Code.WORKER_LOST: "the worker running the request died",
    Code.UNAUTHORIZED: "no API key, or a wrong one",
    Code.METHOD_NOT_ALLOWED: "a method other than POST",
    Code.INTERNAL: "the server failed (the traceback is in its log)",
    Code.UNSUPPORTED_ENCODING: "a Content-Encoding the server does not decode",
    Code.CONNECTION_LIMIT: "the server holds its maximum of open connections",
}


def openapi_routes() -> list[BaseRoute]:
    return [Route("/openapi.json", openapi_json, methods=["GET"])]


async def openapi_json(request: Request) -> Response:
    state: ServingState = request.app.state.serving
    return Response(envelope.dumps(document(state)), media_type="application/json")


def document(state: ServingState) -> Schema:
    """The whole OpenAPI 3.1 document."""
    described = {d.name: d for d in state.predictor.descriptions}
    names = sorted(state.module_names | set(described))
    paths = {f"/predict/{name}": _predict_path(name, described.get(name)) for name in names}
    paths |= _info_paths() | v2_paths(names)
    doc: Schema = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "hubserving",
            "version": __version__,
            "description": "PaddleHub Serving's /predict API and the Open Inference Protocol (KServe V2).",
        },
        "paths": paths,
        "components": {"schemas": {"Envelope": _envelope_schema()} | v2_schemas()},
    }
    if state.config.api_key:
        doc["components"]["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }
        doc["security"] = [{"bearer": []}, {"apiKey": []}]
    return doc


def _envelope_schema() -> Schema:
    return {
        "type": "object",
        "required": ["msg", "results", "status"],
        "properties": {
            "msg": {"type": "string", "description": "empty on success, else what failed and what to do"},
            "results": {"description": "what the serving method returned (empty string on failure)"},
            "status": {"type": "string", "enum": sorted({code.status for code in Code})},
        },
    }


def error_responses() -> dict[str, Schema]:
    """Every HTTP status an error can have, described by the envelope codes that give it."""
    by_status: dict[int, list[str]] = {}
    for code in Code:
        if code is not Code.OK:
            by_status.setdefault(code.http_status, []).append(f"{code.status}: {_meaning(code)}")
    return {
        str(status): {"description": "; ".join(lines), "content": {"application/json": {"schema": ENVELOPE}}}
        for status, lines in sorted(by_status.items())
    }


def _meaning(code: Code) -> str:
    return MEANINGS.get(code, code.name.lower().replace("_", " "))


def _predict_path(name: str, description: ModuleDescription | None) -> Schema:
    summary = description.info.summary if description is not None else f"{name} (still loading)"
    success = {
        "description": "the serving method's results in the envelope (status '0')",
        "content": {"application/json": {"schema": _success_schema(description)}},
    }
    return {
        "post": {
            "summary": summary,
            "operationId": f"predict_{name}",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": body_schema(description)}},
            },
            "responses": {"200": success} | error_responses(),
        }
    }


def _success_schema(description: ModuleDescription | None) -> Schema:
    results: Schema = {"description": "what the serving method returned"}
    if description is not None and codec.declares_tensors(description):
        names = codec.output_names(description)
        results = {"type": "object", "properties": {name: {"type": "array"} for name in names}}
    return {"allOf": [ENVELOPE, {"properties": {"results": results}}]}


def body_schema(description: ModuleDescription | None) -> Schema:
    """The JSON body's schema: one property per argument (and alias), with its type and default."""
    if description is None:
        return {"type": "object"}
    properties = {
        p.name: _property(description, p.name, p.type, p.default, p.required) for p in description.parameters
    }
    for alias, target in description.aliases.items():
        if target in properties and alias not in properties:
            properties[alias] = {**properties[target], "description": f"another name for {target}"}
    if codec.declares_tensors(description):
        properties["inputs"] = _inputs_schema(description)
    required = [
        p.name for p in description.parameters if p.required and p.name not in description.predict_args
    ]
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _property(description: ModuleDescription, name: str, hint: str, default: Any, required: bool) -> Schema:
    schema = typetext.schema(hint)
    if name in description.predict_args:
        default, required = description.predict_args[name], False
    if not required and _is_json(default):
        schema["default"] = default
    if hint:
        schema["description"] = f"type hint: {hint}"
    return schema


def _is_json(value: Any) -> bool:
    try:
        envelope.dumps(value)
    except TypeError:
        return False
    return True


def _inputs_schema(description: ModuleDescription) -> Schema:
    """An exported model's inputs: nested lists, or ``{"b64", "dtype", "shape"}``."""
    encoded = {
        "type": "object",
        "required": ["b64", "dtype", "shape"],
        "properties": {"b64": {"type": "string"}, "dtype": {"type": "string"}, "shape": {"type": "array"}},
    }
    properties = {
        str(spec["name"]): {
            "anyOf": [{"type": "array"}, {"type": "number"}, encoded],
            "description": f"dtype {spec.get('dtype')}, shape {spec.get('shape')}",
        }
        for spec in description.details["inputs"]
    }
    return {"type": "object", "properties": properties, "required": list(properties)}


def _info_paths() -> dict[str, Schema]:
    def get(summary: str, media_type: str = "application/json", open_route: bool = False) -> Schema:
        operation: Schema = {
            "summary": summary,
            "responses": {"200": {"description": summary, "content": {media_type: {}}}},
        }
        if open_route:
            operation["security"] = []
        return {"get": operation}

    return {
        "/modules": get("the loaded modules and their serving methods' arguments"),
        "/health": get("the process answers", open_route=True),
        "/ready": get("every module is loaded (503 while loading)", open_route=True),
        "/metrics": get("Prometheus metrics", "text/plain"),
        "/openapi.json": get("this document"),
    }
