"""The edge to a Ray cluster: connect, deploy and delete Serve applications, read their details.

Every function here blocks (Ray's client calls do); the predictor runs them in threads so the
HTTP front never waits on them.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from collections.abc import Mapping
from typing import Any

import ray
from ray import serve
from ray.serve import RunTarget
from ray.serve.deployment import Application
from ray.serve.handle import DeploymentHandle

from hubserving.ray.settings import RaySettings

DETAILS_TIMEOUT_S = 10.0
REACH_TIMEOUT_S = 5.0


def check_reachable(settings: RaySettings) -> None:
    """Raise ConnectionError at once when a ``host:port`` or ``ray://host:port`` address does not answer
    (``ray.init`` would retry for minutes, and SIGTERM cannot interrupt it)."""
    if settings.address in ("auto", "local"):
        return
    host, _, port = settings.address.rpartition("://")[2].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT_S).close()
    except OSError as error:
        raise ConnectionError(f"nothing answers at {host}:{port} ({error.strerror or error})") from None


def connect(settings: RaySettings) -> None:
    """Join the cluster as a driver and make sure Serve runs there (without its HTTP proxies:
    hubserving's own front takes the requests)."""
    check_reachable(settings)
    if not ray.is_initialized():
        ray.init(
            address=settings.init_address,
            namespace=settings.namespace,
            log_to_driver=False,  # the replicas' logs stay in the cluster's log folder
            logging_level=logging.WARNING,
        )
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    serve.start(proxy_location="Disabled")


def restore_signal_handlers() -> None:
    """Give SIGTERM back to Python (and so to the server's event loop), in the main thread.

    Joining the cluster starts Ray's core worker, which installs a C-level handler for SIGTERM that
    prints a stack and aborts: ``hub serving stop`` would then kill the server before it deletes its
    applications. Setting the Python-level handler again reinstalls Python's own.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    handler = signal.getsignal(signal.SIGTERM)
    if handler is not None:
        signal.signal(signal.SIGTERM, handler)


def disconnect() -> None:
    """Leave the cluster; it and every other application on it go on."""
    ray.shutdown()


def deploy(applications: Mapping[str, Application]) -> dict[str, DeploymentHandle[Any]]:
    """Submit applications by name (an existing one is updated in place, replica by replica) and
    return their handles at once; their replicas start in the background (see ``instance_details``)."""
    targets = [RunTarget(app, name=name, route_prefix=None) for name, app in applications.items()]
    handles = serve.run_many(targets, wait_for_applications_running=False)
    return dict(zip(applications, handles, strict=True))


def delete(name: str) -> None:
    """Remove one application from the cluster and wait until its replicas are gone."""
    serve.delete(name)


def applications() -> list[str]:
    """The names of the Serve applications on the cluster."""
    return list(serve.status().applications)


def instance_details() -> dict[str, Any]:
    """Serve's details of every application, deployment and replica (node, pid, state).

    Read from the Serve controller, as ``serve status`` and the dashboard do: no public call
    gives the replicas' nodes.
    """
    from ray.serve.context import _get_global_client

    client = _get_global_client()
    if client is None:
        raise RuntimeError("Serve is not running on the cluster")
    controller = client._controller
    details: dict[str, Any] = ray.get(
        controller.get_serve_instance_details.remote(), timeout=DETAILS_TIMEOUT_S
    )
    return details
