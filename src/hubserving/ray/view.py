"""What the cluster says about each module's replicas, read from Serve's instance details.

Pure: ``read_view`` turns the controller's details (a plain dict, as ``serve status`` and the
dashboard get them) into per-module facts the front reports: ``/ready``, ``GET /modules``, status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RUNNING = "RUNNING"


@dataclass(frozen=True)
class ModuleRoute:
    """Where a module runs on the cluster: its Serve application and deployment."""

    application: str
    deployment: str


@dataclass(frozen=True)
class ReplicaInfo:
    """One replica of a module, as the Serve controller last reported it."""

    replica_id: str
    state: str  # Serve's replica state: STARTING, RUNNING, STOPPING, ...
    pid: int | None
    node_id: str | None
    node_ip: str | None

    def to_json(self) -> dict[str, Any]:
        """In ``GET /modules``' ``worker_processes``: the keys a local worker has, and where it runs."""
        return {
            "pid": self.pid,
            "state": "ready" if self.state == RUNNING else self.state.lower(),
            "restarts": 0,  # Ray replaces a replica that dies; it never restarts one
            "memory_mb": None,  # on another node: not measured from here
            "replica": self.replica_id,
            "node_id": self.node_id,
            "node_ip": self.node_ip,
        }


@dataclass(frozen=True)
class ModuleView:
    """A module's application status, how many replicas it should have, and those it has."""

    status: str  # the Serve application's: DEPLOYING, RUNNING, DEPLOY_FAILED, ...
    message: str
    target: int
    replicas: tuple[ReplicaInfo, ...]
    replaced: int  # replicas that died recently (Serve keeps the last few)

    @property
    def running(self) -> int:
        return sum(1 for replica in self.replicas if replica.state == RUNNING)

    def to_json(self) -> dict[str, Any]:
        """The ``module_workers()`` entry: ready count, target, each replica, and per node."""
        nodes: dict[str, int] = {}
        for replica in self.replicas:
            if replica.state == RUNNING:
                node = replica.node_id or "?"  # nodes on one host share an address: count by id
                nodes[node] = nodes.get(node, 0) + 1
        return {
            "ready": self.running,
            "of": self.target,
            "workers": [replica.to_json() for replica in self.replicas],
            "replicas_per_node": nodes,
            "application_status": self.status,
            "replaced_recently": self.replaced,
        }


MISSING = ModuleView("NOT_STARTED", "", 0, (), 0)


def _replica(entry: Mapping[str, Any]) -> ReplicaInfo:
    return ReplicaInfo(
        str(entry.get("replica_id", "?")),
        _state(entry.get("state", "?")),
        entry.get("pid"),
        entry.get("node_id"),
        entry.get("node_ip"),
    )


def _state(value: Any) -> str:
    """An enum's value or a string, as a string (the details hold either, by Ray version)."""
    return str(getattr(value, "value", value))


def read_module(details: Mapping[str, Any], route: ModuleRoute) -> ModuleView:
    """One module's view; ``MISSING`` when its application is not on the cluster."""
    application = details.get("applications", {}).get(route.application)
    if application is None:
        return MISSING
    deployment = application.get("deployments", {}).get(route.deployment)
    status, message = _state(application.get("status", "?")), str(application.get("message", ""))
    if deployment is None:
        return ModuleView(status, message, 0, (), 0)
    replicas = tuple(_replica(entry) for entry in deployment.get("replicas", []))
    dead = len(deployment.get("recent_dead_replicas", []))
    return ModuleView(status, message, int(deployment.get("target_num_replicas", 0)), replicas, dead)


def read_view(details: Mapping[str, Any], routes: Mapping[str, ModuleRoute]) -> dict[str, ModuleView]:
    """Every module's view."""
    return {module: read_module(details, route) for module, route in routes.items()}
