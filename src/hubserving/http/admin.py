"""Management routes: the Open Inference Protocol's repository extension (as Triton spells it) and reload.

``POST /v2/repository/index``, ``POST /v2/repository/models/<name>/load`` (a served module is reloaded,
as Triton does) and ``.../unload`` need the server started with ``--admin``: loading runs module code.
``POST /v2/repository/reload`` (a rolling reload of served modules) is also open to the local
``hub serving reload``, which proves it runs as the server's owner with the token in the pid record.
Errors are ``{"error": "..."}`` as the protocol's are.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hubserving.control import ControlError, ServerControl
from hubserving.errors import HubServingError
from hubserving.http.state import ServingState

CONTROL_TOKEN_HEADER = "x-hub-control-token"
JSON = "application/json"


def _json(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status, media_type=JSON)


def _error(message: str, status: int) -> Response:
    return _json({"error": message}, status)


def _state(request: Request) -> ServingState:
    state: ServingState = request.app.state.serving
    return state


def has_control_token(request: Request, control: ServerControl | None, token: str) -> bool:
    given = request.headers.get(CONTROL_TOKEN_HEADER, "")
    return control is not None and bool(token) and hmac.compare_digest(given.encode(), token.encode())


def _control(request: Request, needs_admin: bool) -> ServerControl | Response:
    """The server's control, or the refusal that says how to allow it."""
    state = _state(request)
    control = state.control
    if control is None:
        return _error("this server cannot be managed (it runs no local worker pools)", 400)
    if state.config.admin or (not needs_admin and has_control_token(request, control, state.control_token)):
        return control
    return _error(
        'management requests need a server started with --admin (or config "admin": true); '
        "rolling reloads also work locally with `hub serving reload`",
        403,
    )


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ControlError(f"the body is not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return data


def _load_entry(body: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """``{"module": "name==1.0", "config": {...}}``, or Triton's ``{"parameters": {"config": "<json>"}}``."""
    module = body.get("module")
    entry = body.get("config")
    parameters = body.get("parameters")
    if isinstance(parameters, dict) and isinstance(parameters.get("config"), str):
        try:
            entry = orjson.loads(parameters["config"])
        except orjson.JSONDecodeError as error:
            raise ControlError(f"parameters.config is not valid JSON ({error})") from None
    if module is not None and not isinstance(module, str):
        raise ControlError('"module" must be a string like "lac==2.2.0" or a folder path')
    if entry is not None and not isinstance(entry, dict):
        raise ControlError('"config" must be a modules_info entry like {"init_args": {...}, "workers": 2}')
    return module, entry


async def repository_index(request: Request) -> Response:
    control = _control(request, needs_admin=True)
    if isinstance(control, Response):
        return control
    return _json(control.index())


async def load(request: Request) -> Response:
    control = _control(request, needs_admin=True)
    if isinstance(control, Response):
        return control
    name = request.path_params["name"]
    try:
        module, entry = _load_entry(await _body(request))
        if name in control.modules and module is None and entry is None:
            await control.reload([name])
        else:
            await control.load(module or name, entry)
    except HubServingError as error:
        return _error(str(error), 400)
    return _json({"name": name, "state": "READY"})


async def unload(request: Request) -> Response:
    control = _control(request, needs_admin=True)
    if isinstance(control, Response):
        return control
    try:
        await control.unload(request.path_params["name"])
    except HubServingError as error:
        return _error(str(error), 400)
    return _json({"name": request.path_params["name"], "state": "UNAVAILABLE"})


async def reload(request: Request) -> Response:
    """``{"modules": ["lac"]}`` (every served module when absent): rolling, one module after another."""
    control = _control(request, needs_admin=False)
    if isinstance(control, Response):
        return control
    try:
        names = (await _body(request)).get("modules") or []
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ControlError('"modules" must be a list of served module names')
        done = await control.reload(names)
    except HubServingError as error:
        return _error(str(error), 400)
    return _json({"reloaded": done})


def admin_routes() -> list[BaseRoute]:
    return [
        Route("/v2/repository/index", repository_index, methods=["POST"]),
        Route("/v2/repository/models/{name}/load", load, methods=["POST"]),
        Route("/v2/repository/models/{name}/unload", unload, methods=["POST"]),
        Route("/v2/repository/reload", reload, methods=["POST"]),
    ]
