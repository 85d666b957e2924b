"""Ray Serve's own HTTP proxy as the ingress: one Serve application holding hubserving's front.

This is how KubeRay's RayService runs hubserving (``import_path: hubserving.ray.ingress:build``):
Serve's proxy on every node takes the requests and hands them to an ingress replica that runs
hubserving's ASGI app (routes, envelope, API key, metrics, the web page), which calls each module's
deployment. ``hub serving start --ray`` does not use it: its own front calls the deployments
directly, which costs less per request (bench/RAY.md).

``build`` takes the config.json a standalone server would take, under ``"config"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ray import serve
from ray.serve.deployment import Application
from ray.serve.handle import DeploymentHandle
from starlette.types import ASGIApp

from hubserving.config import config_from_json
from hubserving.errors import ConfigError
from hubserving.http.app import create_app
from hubserving.http.state import ServingState
from hubserving.metrics import ServerMetrics
from hubserving.module.finder import module_catalog
from hubserving.paths import HubHome
from hubserving.ray.plan import plan_for
from hubserving.ray.predictor import RayPredictor
from hubserving.ray.replica import module_application
from hubserving.ray.settings import ModuleReplicas, ModuleResources
from hubserving.ray.view import ModuleRoute
from hubserving.resolve import resolve_modules

PLACEMENT_KEYS = ("replicas", "resources")
Placements = dict[str, tuple[ModuleReplicas | None, ModuleResources | None]]


def split_placements(data: Mapping[str, Any]) -> tuple[dict[str, Any], Placements]:
    """A config's modules without their Ray keys (``replicas``, ``resources``), and those keys parsed."""
    modules_info = data.get("modules_info")
    if not isinstance(modules_info, dict):
        raise ConfigError('config: "modules_info" must be an object like {"lac": {}}')
    rest: dict[str, Any] = {}
    placements: Placements = {}
    for name, entry in modules_info.items():
        entry = dict(entry) if isinstance(entry, dict) else entry
        if isinstance(entry, dict):
            replicas = entry.pop("replicas", None)
            resources = entry.pop("resources", None)
            key = f"modules_info.{name}"
            placements[name] = (
                None if replicas is None else ModuleReplicas.from_json(replicas, f"{key}.replicas"),
                None if resources is None else ModuleResources.from_json(resources, f"{key}.resources"),
            )
        rest[name] = entry
    plain = {key: value for key, value in data.items() if key != "ray"}
    return {**plain, "modules_info": rest}, placements


class HubIngress:
    """An ingress replica: hubserving's ASGI app over the module deployments' handles."""

    def __init__(self, config: dict[str, Any], handles: dict[str, DeploymentHandle[Any]]) -> None:
        self.config = config_from_json(split_placements(config)[0], "the ingress's config")
        self.handles = handles

    async def __serve_build_asgi_app__(self) -> ASGIApp:
        """Called by Serve once the replica is built: the app, once every module answers."""
        application = serve.get_replica_context().app_name
        routes = {name: ModuleRoute(application, name) for name in self.handles}
        predictor = RayPredictor(routes, self.config.timeout_s, self.config.queue_size)
        for name, handle in self.handles.items():
            await predictor.attach(name, handle)
        predictor.start_watching()
        metrics = ServerMetrics(routes)
        metrics.watch_queue(
            lambda module: predictor.depth.get(module, 0),
            predictor.ready_workers,
            predictor.module_ready_workers,
        )
        return create_app(ServingState(self.config, predictor, metrics))


def build(args: dict[str, Any]) -> Application:
    """The Serve application for ``serve run`` / a RayService: ``{"config": <config.json>}``.

    Optional ``"ingress_replicas"`` (default 1): replicas of the front itself.
    """
    data = args.get("config")
    if not isinstance(data, dict):
        raise ConfigError('the application\'s args need "config": a hubserving config.json object')
    plain, placements = split_placements(data)
    config = config_from_json(plain, "config")
    home = HubHome.from_env()
    handles: dict[str, Application] = {}
    for module in resolve_modules(config, module_catalog(home), home):
        replicas, resources = placements.get(module.config.name, (None, None))
        plan = plan_for(module.spec(), replicas, resources, config.workers_of(module.config), False)
        handles[module.config.name] = module_application(plan, config.queue_size)
    ingress = serve.deployment(
        name="hubserving",
        num_replicas=int(args.get("ingress_replicas", 1)),
        ray_actor_options={"num_cpus": 0},  # the front is light; the modules reserve the CPUs
        max_ongoing_requests=config.queue_size * max(1, len(handles)),
        logging_config={"enable_access_log": False},  # hubserving's access log is the app's own
    )(serve.ingress()(HubIngress))
    return ingress.bind(data, handles)
