"""``inference.GRPCInferenceService`` on ``--grpc-port``: grpcio's asyncio server on the front's loop.

The protocol's six calls, and Triton's three model repository calls (``grpc_repository.py``).

Every call goes through the same predictor, metrics and access log as HTTP; with ``api_key`` set,
every call but ServerLive and ServerReady needs ``authorization: Bearer <key>`` (or ``x-api-key``).
"""

from __future__ import annotations

import hmac
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import grpc

from hubserving.errors import PortInUse
from hubserving.http.asgi import Scope, request_id
from hubserving.http.state import ServingState
from hubserving.logs import escape
from hubserving.v2 import codec, grpc_wire, models
from hubserving.v2.errors import V2Error
from hubserving.v2.generated import model_repository_pb2 as repository
from hubserving.v2.generated import open_inference_grpc_pb2 as pb
from hubserving.v2.grpc_repository import RepositoryService
from hubserving.v2.infer import infer

logger = logging.getLogger("hubserving.grpc")
SERVICE = "inference.GRPCInferenceService"
OPEN_METHODS = frozenset({f"/{SERVICE}/ServerLive", f"/{SERVICE}/ServerReady"})
UNAUTHORIZED = "this server needs an API key: send the metadata 'authorization: Bearer <key>'"
GRPC_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    404: grpc.StatusCode.NOT_FOUND,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    415: grpc.StatusCode.INVALID_ARGUMENT,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}
if TYPE_CHECKING:  # generic only in grpcio's type stubs
    Context = grpc.aio.ServicerContext[Any, Any]
    Handler = grpc.RpcMethodHandler[Any, Any]


def status_code(http_status: int) -> grpc.StatusCode:
    """The gRPC status for an HTTP status (anything unlisted is INTERNAL)."""
    return GRPC_CODES.get(http_status, grpc.StatusCode.INTERNAL)


class InferenceService:
    """The six calls of the protocol's service, over one server's state."""

    def __init__(self, state: ServingState) -> None:
        self.state = state

    async def server_live(self, request: pb.ServerLiveRequest, context: Context) -> pb.ServerLiveResponse:
        return pb.ServerLiveResponse(live=True)

    async def server_ready(self, request: pb.ServerReadyRequest, context: Context) -> pb.ServerReadyResponse:
        return pb.ServerReadyResponse(ready=self.state.predictor.ready)

    async def server_metadata(
        self, request: pb.ServerMetadataRequest, context: Context
    ) -> pb.ServerMetadataResponse:
        return pb.ServerMetadataResponse(**models.server_metadata())

    async def model_ready(self, request: pb.ModelReadyRequest, context: Context) -> pb.ModelReadyResponse:
        """Ready or not; a model or version that is not served is not ready (as Triton answers)."""
        try:
            return pb.ModelReadyResponse(ready=models.model_ready(self.state, request.name, request.version))
        except V2Error:
            return pb.ModelReadyResponse(ready=False)

    async def model_metadata(
        self, request: pb.ModelMetadataRequest, context: Context
    ) -> pb.ModelMetadataResponse:
        try:
            description = models.find_model(self.state, request.name, request.version)
        except V2Error as error:
            await context.abort(status_code(error.status), error.message)
        return grpc_wire.model_metadata(codec.metadata(description))

    async def model_infer(self, request: pb.ModelInferRequest, context: Context) -> pb.ModelInferResponse:
        """Inference, recorded in the metrics and the access log like an HTTP request."""
        started = time.perf_counter()
        scope = _scope(context, "ModelInfer")
        rid = request_id(scope)
        status, batch_size = 200, 0
        try:
            response = await infer(self.state, grpc_wire.infer_request(request))
            batch_size = response.batch_size
            return grpc_wire.infer_response(response)
        except V2Error as error:
            status = error.status
            await context.abort(status_code(status), error.message)
        except Exception:
            status = 500
            logger.exception(
                "gRPC request %s to %s failed inside the server", rid.decode(), escape(request.model_name)
            )
            message = (
                f"the server failed on this request (request id {rid.decode()}; the traceback is in its log)"
            )
            await context.abort(grpc.StatusCode.INTERNAL, message)
        finally:
            seconds = time.perf_counter() - started
            self.state.observe(scope, status, seconds, rid, request.model_name, batch_size)


def _scope(context: Context, method: str) -> Scope:
    """What the access log reads of a request, for a gRPC call."""
    headers = [
        (key.encode("latin-1"), _metadata_bytes(value)) for key, value in context.invocation_metadata() or ()
    ]
    return {
        "method": "GRPC",
        "path": f"/{SERVICE}/{method}",
        "client": _peer(context.peer()),
        "headers": headers,
    }


def _metadata_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1", "replace")


def _peer(peer: str) -> tuple[str, int] | None:
    """``ipv4:127.0.0.1:5000`` / ``ipv6:[::1]:5000`` -> (host, port)."""
    _, _, address = peer.partition(":")
    host, _, port = address.rpartition(":")
    return (host.strip("[]"), int(port)) if port.isdigit() else None


def handler(service: InferenceService, manage: RepositoryService) -> grpc.GenericRpcHandler:
    """The service's calls under their protocol names, and the repository extension's (as Triton's)."""
    calls: dict[str, tuple[Callable[..., Awaitable[Any]], Any]] = {
        "ServerLive": (service.server_live, pb.ServerLiveRequest),
        "ServerReady": (service.server_ready, pb.ServerReadyRequest),
        "ModelReady": (service.model_ready, pb.ModelReadyRequest),
        "ServerMetadata": (service.server_metadata, pb.ServerMetadataRequest),
        "ModelMetadata": (service.model_metadata, pb.ModelMetadataRequest),
        "ModelInfer": (service.model_infer, pb.ModelInferRequest),
        "RepositoryIndex": (manage.index, repository.RepositoryIndexRequest),
        "RepositoryModelLoad": (manage.load, repository.RepositoryModelLoadRequest),
        "RepositoryModelUnload": (manage.unload, repository.RepositoryModelUnloadRequest),
    }
    methods = {
        name: grpc.unary_unary_rpc_method_handler(
            call, request_deserializer=message.FromString, response_serializer=_serialize
        )
        for name, (call, message) in calls.items()
    }
    return grpc.method_handlers_generic_handler(SERVICE, methods)


def _serialize(message: Any) -> bytes:
    data: bytes = message.SerializeToString()
    return data


class ApiKeyCheck(grpc.aio.ServerInterceptor):
    """Refuses (UNAUTHENTICATED) calls without the server's API key, and records each refusal."""

    def __init__(self, state: ServingState, api_key: str) -> None:
        self.state = state
        self.api_key = api_key.encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        if details.method in OPEN_METHODS or self.allowed(details.invocation_metadata):
            return await continuation(details)
        return grpc.unary_unary_rpc_method_handler(self.refuse)

    def allowed(self, metadata: Sequence[tuple[str, str | bytes]] | None) -> bool:
        values = {key.lower(): _metadata_bytes(value) for key, value in metadata or ()}
        authorization = values.get("authorization", b"")
        key = (
            authorization[7:].strip() if authorization[:7].lower() == b"bearer " else values.get("x-api-key")
        )
        return key is not None and hmac.compare_digest(key, self.api_key)

    async def refuse(self, request: bytes, context: Context) -> None:
        scope = _scope(context, "")
        self.state.observe(scope, 401, 0.0, request_id(scope), None)
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, UNAUTHORIZED)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _port_is_taken(host: str, port: int) -> bool:
    """Probe the port first: grpcio would print a C-level error line before failing."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


async def start_grpc(state: ServingState) -> grpc.aio.Server:
    """Serve the protocol on ``state.config.grpc_port``; PortInUse when the port is taken."""
    config = state.config
    assert config.grpc_port is not None, "start_grpc needs config.grpc_port"
    taken = PortInUse(f"gRPC port {config.grpc_port} is occupied, please change it (--grpc-port).")
    if _port_is_taken(config.host, config.grpc_port):
        raise taken
    interceptors = [ApiKeyCheck(state, config.api_key)] if config.api_key else []
    server = grpc.aio.server(
        interceptors=interceptors,
        options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", config.max_body_bytes)],
    )
    server.add_generic_rpc_handlers((handler(InferenceService(state), RepositoryService(state)),))
    try:
        bound = server.add_insecure_port(_address(config.host, config.grpc_port))
    except RuntimeError:
        bound = 0
    if bound == 0:
        raise taken
    await server.start()
    return server


async def stop_grpc(server: grpc.aio.Server, grace_s: float) -> None:
    """Stop taking calls; calls in flight get ``grace_s`` seconds to finish."""
    await server.stop(grace_s)
