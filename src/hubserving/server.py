"""``hub serving start``: resolve the modules, bind the port, run the front and its workers.

Start-up order: everything that can fail fast (modules, GPU, port) fails before any model loads.
The HTTP front answers (``/health``, ``/ready``) while the workers load; the pid record is written
and the banner printed once every worker is ready. Ctrl+C or SIGTERM stop it cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TextIO

import uvicorn

from hubserving import __version__
from hubserving.config import ServerConfig
from hubserving.control import ServerControl
from hubserving.errors import HubServingError, PortInUse
from hubserving.http.access import AccessLog
from hubserving.http.app import create_app
from hubserving.http.limits import raise_open_file_limit
from hubserving.http.protocol import HttpProtocol
from hubserving.http.state import ServingState
from hubserving.logs import LogSettings, configure_logging
from hubserving.metrics import ServerMetrics
from hubserving.module.finder import (
    module_catalog,
)
from hubserving.paths import HubHome
from hubserving.pidrecord import PidRecord, remove_record, write_record
from hubserving.resolve import ResolvedModule, check_gpu_init_args, resolve_modules
from hubserving.runtime.devices import check_cards, detect_gpus, device_label
from hubserving.runtime.local import LocalPredictor, ModulePlan, SettingsFor
from hubserving.runtime.messages import WorkerSetup
from hubserving.runtime.pool import PoolSettings
from hubserving.runtime.threads import worker_environment
from hubserving.watch import watch_modules

if TYPE_CHECKING:
    from hubserving.ray.predictor import RayServing

logger = logging.getLogger("hubserving.server")

GRACEFUL_SHUTDOWN_S = 30


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket now, so a taken port fails before any model loads."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(f"Port {port} is occupied, please change it.") from None
        raise PortInUse(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(False)
    return sock


class FrontServer(uvicorn.Server):
    """uvicorn's server, with signals left to ``run_server`` so clean-up always completes."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _banner(config: ServerConfig, resolved: list[ResolvedModule], out: TextIO, elapsed_s: float) -> None:
    shown_host = "127.0.0.1" if config.host in ("0.0.0.0", "::") else config.host
    base = f"http://{shown_host}:{config.port}"
    lines = [
        f"hubserving {__version__} is serving ({config.mode}) on {config.host}:{config.port}, "
        f"ready in {elapsed_s:.1f} s:"
    ]
    lines += [
        f"  {m.label}  ->  POST {base}/predict/{m.config.name}  ({_placement(config, m)})" for m in resolved
    ]
    if config.grpc_port is not None:
        lines.append(f"  gRPC (Open Inference Protocol): {shown_host}:{config.grpc_port}")
    lines += [f"Page: {base}/   Stop: {_stop_hint(config.port)}"]
    print("\n".join(lines), file=out, flush=True)


def _workers(plan: ModulePlan) -> str:
    """``2 workers on cpu``, ``2 workers on gpu:0, gpu:1``."""
    devices = sorted({device_label(plan.card_of(position)) for position in range(plan.workers)})
    count = "1 worker" if plan.workers == 1 else f"{plan.workers} workers"
    return f"{count} on {', '.join(devices)}"


def _placement(config: ServerConfig, module: ResolvedModule) -> str:
    """Where a module runs: its local workers, or its Ray replicas."""
    if config.ray is None:
        return _workers(module.plan(config))
    from hubserving.ray.settings import ModuleReplicas

    replicas = module.config.replicas or ModuleReplicas.fixed(config.workers_of(module.config))
    return f"{replicas.describe()} on the cluster"


def _stop_hint(port: int) -> str:
    """Ctrl+C only where there is a terminal to press it in (not with --detach, nohup or a service)."""
    command = f"`hub serving stop --port {port}`"
    return f"Ctrl+C, or {command}" if sys.stdin is not None and sys.stdin.isatty() else command


def _pool_settings(config: ServerConfig, home: HubHome, metrics: ServerMetrics) -> SettingsFor:
    """How each module's pool is set up: each worker's card and environment, log file, limits, metrics."""

    def log_for(index: int) -> LogSettings:
        return LogSettings(home.log_dir, home.worker_log(config.port, index).name, config.log_format)

    def settings(plan: ModulePlan, first_index: int) -> PoolSettings:
        def card(index: int) -> str | None:
            return plan.card_of(index - first_index)

        def environment(index: int) -> dict[str, str]:
            hidden = "" if config.use_gpu else None  # a CPU module on a GPU server sees no card
            return worker_environment(os.environ, card(index) if plan.on_gpu else hidden)

        return PoolSettings(
            plan.workers,
            config.timeout_s,
            environment,
            config.queue_size,
            first_index,
            log_for,
            device_of=lambda index: device_label(card(index)),
            on_restart=metrics.worker_restarts.inc,
            on_retry=metrics.retries.labels(plan.name).inc,
        )

    return settings


def log_settings(config: ServerConfig, home: HubHome) -> LogSettings:
    return LogSettings(home.log_dir, home.server_log(config.port).name, config.log_format)


def module_plans(config: ServerConfig, resolved: list[ResolvedModule]) -> list[ModulePlan]:
    return [module.plan(config) for module in resolved]


def _front(state: ServingState) -> FrontServer:
    return FrontServer(
        uvicorn.Config(
            create_app(state),
            lifespan="off",
            log_level="warning",
            access_log=False,
            http=HttpProtocol.configured(state.config),
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            server_header=False,
        )
    )


def _ray_predictor(
    config: ServerConfig, resolved: list[ResolvedModule], metrics: ServerMetrics
) -> RayServing:
    """Ray mode: a Serve deployment per module on the cluster (Ray is imported only here)."""
    from hubserving.ray.plan import plan_for
    from hubserving.ray.predictor import RayServing

    assert config.ray is not None
    plans = [
        plan_for(
            m.spec(),
            m.config.replicas,
            m.config.resources,
            config.workers_of(m.config),
            config.on_gpu(m.config),
        )
        for m in resolved
    ]
    return RayServing(
        config.ray,
        config.port,
        plans,
        config.timeout_s,
        config.queue_size,
        on_retry=lambda module: metrics.retries.labels(module).inc(),
    )


def _build_state(
    config: ServerConfig, resolved: list[ResolvedModule], home: HubHome
) -> tuple[ServingState, LocalPredictor | RayServing]:
    """The predictor (a worker pool per module, or Ray deployments), its control, metrics and access log."""
    metrics = ServerMetrics(m.config.name for m in resolved)
    predictor: LocalPredictor | RayServing
    control = None
    if config.ray is not None:
        predictor = _ray_predictor(config, resolved, metrics)
    else:
        template = WorkerSetup(
            (), config.use_gpu, None, memory_limit_mb=config.worker_memory_mb, nice=config.worker_nice
        )
        settings_for = _pool_settings(config, home, metrics)
        plans = module_plans(config, resolved)
        predictor = LocalPredictor(plans, template, settings_for, GRACEFUL_SHUTDOWN_S)
        modules = {m.config.name: m for m in resolved}
        control = ServerControl(config, home, predictor, modules, on_event=metrics.module_event)
    metrics.watch_queue(
        lambda module: predictor.depth.get(module, 0), predictor.ready_workers, predictor.module_ready_workers
    )
    access_log = (
        AccessLog(home.access_log(config.port), config.log_format == "json") if config.access_log else None
    )
    state = ServingState(
        config, predictor, metrics, access_log, control=control, control_token=secrets.token_urlsafe(32)
    )
    return state, predictor


async def _reload_all(control: ServerControl) -> None:
    """SIGHUP: a rolling reload of every module; a failure is logged, the old workers go on serving."""
    try:
        await control.reload()
    except HubServingError as error:
        logger.error("reload on SIGHUP: %s", error)


async def run_server(
    config: ServerConfig, resolved: list[ResolvedModule], sock: socket.socket, home: HubHome, out: TextIO
) -> int:
    """Serve until a signal; return the process exit code."""
    started = time.time()
    state, predictor = _build_state(config, resolved, home)
    control = state.control
    server = _front(state)
    stop_requested = asyncio.Event()

    def on_signal() -> None:
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True
        stop_requested.set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)
    tasks: set[asyncio.Task[None]] = set()
    exit_code = 0

    def write_pid_record() -> None:
        """The record ``stop``, ``status`` and ``hub uninstall`` read: written when ready, and on changes."""
        served = control.modules.values() if control is not None else resolved
        names = [str(module.source) for module in served]
        token = state.control_token
        write_record(home, PidRecord.for_this_process(names, config.port, config.host, started, token))

    def on_module_event(module: str, event: str) -> None:
        state.metrics.module_event(module, event)
        write_pid_record()

    grpc_server = None
    try:
        if config.grpc_port is not None:
            from hubserving.v2.grpc_server import start_grpc

            grpc_server = await start_grpc(state)
        await predictor.start()
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        waiting = asyncio.create_task(predictor.wait_ready())
        stopping = asyncio.create_task(stop_requested.wait())
        await asyncio.wait({waiting, stopping, serving}, return_when=asyncio.FIRST_COMPLETED)
        if waiting.done() and waiting.exception() is not None:
            logger.error("a module failed to load: %s", waiting.exception())  # stderr and the log file
            server.should_exit = True
            exit_code = 1
        elif waiting.done():
            write_pid_record()
            if control is not None:  # local workers; in Ray mode, redeploy to update
                control.on_event = on_module_event
                loop.add_signal_handler(
                    signal.SIGHUP, lambda: tasks.add(loop.create_task(_reload_all(control)))
                )
                if config.watch:
                    tasks.add(loop.create_task(watch_modules(control, stop_requested)))
            _banner(config, resolved, out, time.time() - started)
            gc.freeze()  # what the start made lives as long as the server: collections skip it (-8 % CPU)
        else:
            waiting.cancel()
        stopping.cancel()
        await serving
    finally:
        stop_requested.set()
        for task in tasks:
            task.cancel()
        if grpc_server is not None:
            from hubserving.v2.grpc_server import stop_grpc

            await stop_grpc(grpc_server, GRACEFUL_SHUTDOWN_S)
        if state.access_log is not None:
            state.access_log.close()
        await predictor.stop()
        remove_record(home, config.port, os.getpid())
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(signum)
    return exit_code


def serve(config: ServerConfig, home: HubHome, out: TextIO = sys.stdout) -> int:
    """Everything ``hub serving start`` does; returns the exit code. Raises HubServingError on bad input."""
    resolved = resolve_modules(config, module_catalog(home), home)
    check_gpu_init_args(resolved, detect_gpus)
    if config.use_gpu:
        check_cards(config.gpu, detect_gpus())
    sock = bind_socket(config.host, config.port)
    configure_logging(log_settings(config, home))
    raise_open_file_limit()
    try:
        runner = asyncio.Runner(loop_factory=_loop_factory())
        with runner:
            return runner.run(run_server(config, resolved, sock, home, out))
    finally:
        sock.close()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (not on Windows)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
