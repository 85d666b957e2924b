"""The front's ``Predictor`` over Ray Serve: each module is a deployment, called through its handle.

A request whose replica died (or whose node was lost) is sent once more, to another replica; one
that outlives the timeout is answered 504 and cancelled; beyond ``queue_size`` a module answers 503.
What the cluster runs (replicas per module and node) is read from Serve's controller once a second,
so the routes that report it never wait on the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ray.exceptions import NodeDiedError, ObjectLostError, RayActorError, RayTaskError, WorkerCrashedError
from ray.serve.exceptions import ReplicaUnavailableError
from ray.serve.handle import DeploymentHandle

from hubserving.errors import Code, HubServingError
from hubserving.ray import cluster
from hubserving.ray.plan import RayModulePlan
from hubserving.ray.replica import module_application
from hubserving.ray.settings import RaySettings
from hubserving.ray.view import MISSING, ModuleRoute, ModuleView, read_view
from hubserving.runtime.local import ModuleStartError
from hubserving.runtime.messages import ModuleDescription, PredictReply
from hubserving.runtime.pool import failure_reply

logger = logging.getLogger("hubserving.ray")

MAX_ATTEMPTS = 2  # a request is sent to at most this many replicas
VIEW_INTERVAL_S = 1.0
FAILED = ("DEPLOY_FAILED",)
# The replica (its process or node) is gone: the request may be sent to another one.
LOST = (RayActorError, WorkerCrashedError, NodeDiedError, ObjectLostError, ReplicaUnavailableError)

DetailsReader = Callable[[], Mapping[str, Any]]


class RayConnectError(HubServingError):
    """The Ray cluster cannot be reached (or Serve cannot start on it)."""


class RayPredictor:
    """Routes each request to its module's deployment and reports the replicas the cluster runs."""

    def __init__(
        self,
        routes: Mapping[str, ModuleRoute],
        timeout_s: float,
        queue_size: int,
        read_details: DetailsReader = cluster.instance_details,
        on_retry: Callable[[str], None] = lambda module: None,
    ) -> None:
        self.routes = dict(routes)
        self.timeout_s = timeout_s
        self.queue_size = queue_size
        self.read_details = read_details
        self.on_retry = on_retry
        self.handles: dict[str, DeploymentHandle[Any]] = {}  # modules whose replicas answer
        self.views: dict[str, ModuleView] = {}
        self._descriptions: dict[str, ModuleDescription] = {}
        self._depth: dict[str, int] = {}
        self._viewed = asyncio.Event()
        self._watching: asyncio.Task[None] | None = None

    # --- the Predictor interface

    async def predict(self, module: str, body: bytes | bytearray) -> PredictReply:
        if module not in self.routes:
            return failure_reply(Code.MODULE_NOT_AVAILABLE, f"Module {module} is not available.")
        handle = self.handles.get(module)
        if handle is None:
            return failure_reply(Code.NOT_READY, f"{module} is loading on the cluster; retry shortly")
        depth = self._depth.get(module, 0)
        if depth >= self.queue_size:
            message = (
                f"{module} is overloaded: {depth} requests are already waiting or running; retry "
                "shortly (the server's queue_size bounds this)"
            )
            return failure_reply(Code.OVERLOADED, message)
        self._depth[module] = depth + 1
        try:
            return await asyncio.wait_for(self._call(module, handle, bytes(body)), self.timeout_s)
        except TimeoutError:
            message = (
                f"{module} did not answer within {self.timeout_s:g} s; "
                'raise the server\'s timeout (--timeout or config "timeout") or send less work'
            )
            return failure_reply(Code.TIMEOUT, message)
        finally:
            self._depth[module] -= 1

    async def _call(self, module: str, handle: DeploymentHandle[Any], body: bytes) -> PredictReply:
        """Send the body to a replica; once more to another when that replica is lost."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                reply: PredictReply = await handle.remote(body)
            except LOST as error:
                if attempt == MAX_ATTEMPTS or not self._may_retry(module):
                    return self._lost(module, attempt, error)
                logger.warning(
                    "%s: the replica holding a request was lost (%s); sending it again", module, error
                )
                self.on_retry(module)
                continue
            except RayTaskError:
                logger.exception("%s: the replica failed outside the module's own code", module)
                return failure_reply(Code.INTERNAL, f"{module}: the replica failed; the cause is in the log")
            return dataclasses.replace(reply, attempts=attempt) if attempt > 1 else reply
        raise AssertionError("unreachable")

    def _may_retry(self, module: str) -> bool:
        description = self._descriptions.get(module)
        return description is None or description.retry

    def _lost(self, module: str, attempts: int, error: Exception) -> PredictReply:
        logger.error("%s: a request's replica was lost on attempt %d: %s", module, attempts, error)
        message = (
            f"{module}: the replica handling this request was lost ({type(error).__name__}); "
            "the cluster is replacing it, retry"
        )
        return dataclasses.replace(failure_reply(Code.WORKER_LOST, message), attempts=attempts)

    @property
    def module_names(self) -> frozenset[str]:
        return frozenset(self.routes)

    @property
    def ready(self) -> bool:
        """Every module answers and has a running replica."""
        return bool(self.routes) and all(
            name in self.handles and self.views.get(name, MISSING).running > 0 for name in self.routes
        )

    @property
    def descriptions(self) -> tuple[ModuleDescription, ...]:
        return tuple(self._descriptions.values())

    @property
    def depth(self) -> Mapping[str, int]:
        return dict(self._depth)

    def pids(self) -> list[int]:
        """The running replicas' process ids (on their own nodes)."""
        return [
            replica.pid
            for view in self.views.values()
            for replica in view.replicas
            if replica.pid is not None and replica.state == "RUNNING"
        ]

    def ready_workers(self) -> int:
        return sum(view.running for view in self.views.values())

    def module_ready_workers(self, module: str) -> int:
        return self.views.get(module, MISSING).running

    def module_workers(self) -> dict[str, dict[str, Any]]:
        """Per module: running replicas, the target, each replica with its node, and a count per node."""
        return {name: self.views.get(name, MISSING).to_json() for name in self.routes}

    # --- the cluster's view

    async def refresh(self) -> None:
        """Read the replicas' states from the Serve controller once."""
        details = await asyncio.to_thread(self.read_details)
        self.views = read_view(details, self.routes)
        self._viewed.set()

    async def _watch(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as error:  # the controller may be moving: keep the last view
                logger.warning("could not read the Serve applications' state: %s", error)
            await asyncio.sleep(VIEW_INTERVAL_S)

    def start_watching(self) -> None:
        if self._watching is None:
            self._watching = asyncio.get_running_loop().create_task(self._watch())

    async def stop_watching(self) -> None:
        if self._watching is not None:
            self._watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watching
            self._watching = None

    async def attach(self, module: str, handle: DeploymentHandle[Any]) -> None:
        """Route ``module`` to ``handle`` once its replicas run; ask one for the module's description."""
        self._descriptions[module] = await handle.options(method_name="describe").remote()
        self.handles[module] = handle.options(method_name="predict")

    async def wait_running(self, pending: Mapping[str, DeploymentHandle[Any]]) -> None:
        """Attach each module once it has a running replica; raise ModuleStartError naming one that failed."""
        waiting = dict(pending)
        while waiting:
            await self._viewed.wait()
            for name in list(waiting):
                view = self.views.get(name, MISSING)
                if view.status in FAILED:
                    raise ModuleStartError(f"{name}: its Serve deployment failed: {view.message}")
                if view.running > 0:
                    await self.attach(name, waiting.pop(name))
            self._viewed.clear()


class RayServing(RayPredictor):
    """Ray mode of ``hub serving start``: deploys one Serve application per module from this process,
    and deletes them when the server stops (the cluster stays up)."""

    def __init__(
        self,
        settings: RaySettings,
        port: int,
        plans: Sequence[RayModulePlan],
        timeout_s: float,
        queue_size: int,
        on_retry: Callable[[str], None] = lambda module: None,
    ) -> None:
        routes = {plan.name: ModuleRoute(settings.application(port, plan.name), plan.name) for plan in plans}
        super().__init__(routes, timeout_s, queue_size, on_retry=on_retry)
        self.settings = settings
        self.plans = list(plans)
        self._pending: dict[str, DeploymentHandle[Any]] = {}
        self._connected = False

    async def start(self) -> None:
        """Join the cluster and submit every module's application; ``wait_ready`` waits for them."""
        try:
            await asyncio.to_thread(cluster.connect, self.settings)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise RayConnectError(
                f"cannot use the Ray cluster at {self.settings.address!r}: {error}; start one with "
                "`ray start --head`, or give its address with --ray (or RAY_ADDRESS with --ray auto)"
            ) from None
        cluster.restore_signal_handlers()
        self._connected = True
        applications = {
            self.routes[plan.name].application: module_application(plan, self.queue_size)
            for plan in self.plans
        }
        handles = await asyncio.to_thread(cluster.deploy, applications)
        self._pending = {plan.name: handles[self.routes[plan.name].application] for plan in self.plans}
        self.start_watching()

    async def wait_ready(self) -> None:
        """Return when every module has a running replica; raise ModuleStartError when one failed."""
        await self.wait_running(self._pending)

    async def stop(self) -> None:
        """Delete this server's applications from the cluster and leave it."""
        await self.stop_watching()
        self.handles.clear()
        if not self._connected:
            return
        for route in self.routes.values():
            try:
                await asyncio.to_thread(cluster.delete, route.application)
            except Exception as error:
                logger.error("could not delete the Serve application %s: %s", route.application, error)
        await asyncio.to_thread(cluster.disconnect)
