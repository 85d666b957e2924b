"""A module as a Ray Serve deployment: each replica runs hubserving's own loader and batching handler.

A replica takes the raw JSON body of a request and returns the finished envelope (a ``PredictReply``),
exactly as a local worker does, so answers are the same in both modes. Calls that arrive while the
model is busy are handed to the handler together (``@serve.batch``), which merges the compatible ones.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from typing import Any

from ray import serve
from ray.serve.deployment import Application

from hubserving.ray.plan import RayModulePlan
from hubserving.runtime.handler import ModuleHandler
from hubserving.runtime.messages import ModuleDescription, ModuleSpec, PredictCall, PredictReply
from hubserving.runtime.threads import cpu_kernel_environment
from hubserving.runtime.worker import build_handler, describe

HEALTH_CHECK_PERIOD_S = 5.0
CONSTRUCTOR_RETRIES = 3  # a module that fails to load fails the deployment soon, with its traceback


class ModuleReplica:
    """One replica of one module: loads it once, then answers request bodies in batches."""

    def __init__(self, spec: ModuleSpec, use_gpu: bool) -> None:
        for variable, value in cpu_kernel_environment().items():  # this node's CPU; before the model loads
            os.environ.setdefault(variable, value)
        self.handler: ModuleHandler = build_handler(spec, use_gpu)
        self.description = describe(self.handler)
        self._request_ids = itertools.count(1)
        policy = self.handler.policy
        # Serve's queue collects requests; the handler splits them into batches of at most
        # max_batch_size inputs, so a batch of requests never needs to be larger than that.
        batching: Any = self.predict_batch  # serve.batch's wrapper: its setters are not in its type
        batching.set_max_batch_size(policy.max_batch_size)
        batching.set_batch_wait_timeout_s(policy.max_wait_s)

    async def predict(self, body: bytes) -> PredictReply:
        """The envelope for one request body (batched with those that arrive meanwhile)."""
        reply: PredictReply = await self.predict_batch(body)
        return reply

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.0)
    async def predict_batch(self, bodies: list[bytes]) -> list[PredictReply]:
        calls = [PredictCall(next(self._request_ids), self.description.name, body) for body in bodies]
        # The model runs in a thread: the replica's event loop keeps taking requests and health checks.
        return await asyncio.to_thread(self.handler.handle, calls)

    def describe(self) -> ModuleDescription:
        """The loaded module, for ``GET /modules`` and the web page."""
        return self.description

    def whereabouts(self) -> dict[str, Any]:
        """This replica's process and node (for tests and diagnostics)."""
        context = serve.get_replica_context()
        return {"pid": os.getpid(), "replica": context.replica_id.unique_id}


def module_application(plan: RayModulePlan, max_ongoing_requests: int) -> Application:
    """The Serve deployment of one module, bound to its spec: deploy it with ``serve.run``."""
    deployment = serve.deployment(
        name=plan.name,
        ray_actor_options=plan.resources.actor_options(),
        max_ongoing_requests=max_ongoing_requests,
        health_check_period_s=HEALTH_CHECK_PERIOD_S,
        max_constructor_retry_count=CONSTRUCTOR_RETRIES,
        logging_config={"enable_access_log": False},  # the front logs each request once, itself
        **plan.replicas.deployment_options(),
    )(ModuleReplica)
    return deployment.bind(plan.spec, plan.use_gpu)
