"""The model repository calls over gRPC (Triton's extension): index, load (a served module: reload), unload.

They do what ``POST /v2/repository/...`` does (``control.py``), with the same rule: only a server
started with ``--admin`` takes them, since loading runs module code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import grpc
import orjson

from hubserving.control import ServerControl
from hubserving.errors import HubServingError
from hubserving.http.state import ServingState
from hubserving.v2.generated import model_repository_pb2 as repository
from hubserving.v2.grpc_wire import parameters

if TYPE_CHECKING:
    Context = grpc.aio.ServicerContext[Any, Any]

NOT_ADMIN = 'management calls need a server started with --admin (or config "admin": true)'


class RepositoryService:
    """RepositoryIndex, RepositoryModelLoad and RepositoryModelUnload over one server's control."""

    def __init__(self, state: ServingState) -> None:
        self.state = state

    async def _control(self, context: Context) -> ServerControl:
        control = self.state.control
        if control is None:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                "this server cannot be managed (it runs no local worker pools)",
            )
        if not self.state.config.admin:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, NOT_ADMIN)
        return control

    async def index(
        self, request: repository.RepositoryIndexRequest, context: Context
    ) -> repository.RepositoryIndexResponse:
        control = await self._control(context)
        entries = [entry for entry in control.index() if entry["state"] == "READY" or not request.ready]
        models = [repository.RepositoryIndexResponse.ModelIndex(**entry) for entry in entries]
        return repository.RepositoryIndexResponse(models=models)

    async def load(
        self, request: repository.RepositoryModelLoadRequest, context: Context
    ) -> repository.RepositoryModelLoadResponse:
        """A served module without a new config is reloaded (as Triton does); else it is loaded."""
        control = await self._control(context)
        try:
            module, entry = load_entry(parameters(request.parameters))
            if request.model_name in control.modules and module is None and entry is None:
                await control.reload([request.model_name])
            else:
                await control.load(module or request.model_name, entry)
        except HubServingError as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        return repository.RepositoryModelLoadResponse()

    async def unload(
        self, request: repository.RepositoryModelUnloadRequest, context: Context
    ) -> repository.RepositoryModelUnloadResponse:
        control = await self._control(context)
        try:
            await control.unload(request.model_name)
        except HubServingError as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        return repository.RepositoryModelUnloadResponse()


class RepositoryError(HubServingError):
    """A load call whose parameters cannot be used."""


def load_entry(values: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """``module`` (``NAME==VERSION`` or a folder) and ``config`` (a ``modules_info`` entry, as JSON text)."""
    module = values.get("module")
    if module is not None and not isinstance(module, str):
        raise RepositoryError('parameter "module" must be a string like "lac==2.2.0" or a folder path')
    config = values.get("config")
    if config is None:
        return module, None
    try:
        entry = orjson.loads(config)
    except (orjson.JSONDecodeError, TypeError) as error:
        raise RepositoryError(f'parameter "config" must be JSON text ({error})') from None
    if not isinstance(entry, dict):
        raise RepositoryError('parameter "config" must be a modules_info entry like {"init_args": {...}}')
    return module, entry
