"""``POST /predict/<module>``: check the envelope-level rules, then hand the body to a worker."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hubserving import envelope
from hubserving.errors import Code
from hubserving.http.state import ServingState

JSON = "application/json"


def error_response(code: Code, message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(envelope.failure(code, message), status, headers=headers, media_type=JSON)


async def read_body(request: Request, limit: int) -> bytes | None:
    """The whole body, or None when it is larger than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            return None
    return bytes(chunks)


async def predict(request: Request) -> Response:
    state: ServingState = request.app.state.serving
    module = request.path_params["module"]
    if module not in state.module_names:
        return error_response(Code.MODULE_NOT_AVAILABLE, f"Module {module} is not available.", 404)
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith(JSON):
        return error_response(
            Code.NOT_JSON_CONTENT_TYPE,
            f"post the arguments as JSON with the header 'Content-Type: {JSON}' "
            f"(got {content_type or 'none'!r})",
            415,
        )
    body = await read_body(request, state.config.max_body_bytes)
    if body is None:
        limit_mb = state.config.max_body_bytes / 1024 / 1024
        return error_response(
            Code.BODY_TOO_LARGE, f"the request body is over {limit_mb:g} MB; send less per request", 413
        )
    reply = await state.pool.predict(module, body)
    return Response(reply.body, reply.http_status, media_type=JSON)
