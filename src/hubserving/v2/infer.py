"""Run one V2 inference request through the predictor, as ``POST /predict/<module>`` would."""

from __future__ import annotations

from typing import Any

import orjson

from hubserving.http.state import ServingState
from hubserving.v2 import codec
from hubserving.v2.errors import V2Error
from hubserving.v2.messages import InferRequest, InferResponse
from hubserving.v2.models import find_model


async def infer(state: ServingState, request: InferRequest) -> InferResponse:
    """The outputs asked for; V2Error with the predictor's status and message when it refuses or fails."""
    description = find_model(state, request.model, request.version)
    codec.check_outputs(description, request)
    reply = await state.predictor.predict(description.name, codec.request_body(description, request))
    answer = _envelope(reply.body)
    if reply.http_status != 200:
        raise V2Error(str(answer.get("msg") or f"the model failed ({reply.http_status})"), reply.http_status)
    outputs = codec.outputs(description, request, answer.get("results"))
    return InferResponse(
        description.name, description.info.version, request.id, tuple(outputs), reply.batch_size
    )


def _envelope(body: bytes) -> dict[str, Any]:
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise V2Error("the worker's answer is not JSON (a server bug; see its log)", 500) from None
    if not isinstance(answer, dict):
        raise V2Error("the worker's answer is not an envelope (a server bug; see its log)", 500)
    return answer
