"""``hub serving start``: resolve the modules, bind the port, run the front and its workers.

Start-up order: everything that can fail fast (modules, GPU, port) fails before any model loads.
The HTTP front answers (``/health``, ``/ready``) while the workers load; the pid record is written
and the banner printed once every worker is ready. Ctrl+C or SIGTERM stop it cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TextIO

import uvicorn

from hubserving import __version__
from hubserving.config import ModuleConfig, ServerConfig
from hubserving.errors import ConfigError, ModuleNotFound, PortInUse
from hubserving.http.access import AccessLog
from hubserving.http.app import create_app
from hubserving.http.protocol import HttpProtocol
from hubserving.http.state import ServingState
from hubserving.logs import LogSettings, configure_logging
from hubserving.metrics import ServerMetrics
from hubserving.module.finder import (
    Catalog,
    ModuleSource,
    module_catalog,
    read_init_parameters,
    source_from_directory,
)
from hubserving.paths import HubHome
from hubserving.pidrecord import PidRecord, remove_record, write_record
from hubserving.runtime.devices import check_cards, detect_gpus
from hubserving.runtime.local import LocalPredictor, ModulePlan, SettingsFor
from hubserving.runtime.messages import ModuleSpec, WorkerSetup
from hubserving.runtime.pool import PoolSettings
from hubserving.runtime.threads import worker_environment

logger = logging.getLogger("hubserving.server")

GRACEFUL_SHUTDOWN_S = 30


@dataclass(frozen=True)
class ResolvedModule:
    """A configured module and the folder it was found in."""

    config: ModuleConfig
    source: ModuleSource

    @property
    def label(self) -> str:
        """How the banner names it: ``lac==2.2.0``, or the folder of an exported model."""
        if self.source.served_folder is not None:
            return f"{self.config.name} ({self.source.info.name} serving {self.source.served_folder})"
        return str(self.source)

    def spec(self) -> ModuleSpec:
        return ModuleSpec(
            name=self.config.name,
            directory=self.source.directory,
            init_args={**self.source.init_args, **self.config.init_args},
            predict_args=self.config.predict_args,
            batching=self.config.batching,
        )

    def check_init_args(self) -> None:
        """Refuse init_args the module's constructor does not take, before any worker starts."""
        accepted = read_init_parameters(self.source.directory)
        if accepted is None or accepted[1]:
            return
        unknown = sorted(set(self.config.init_args) - accepted[0])
        if unknown:
            raise ConfigError(
                f"modules_info.{self.config.name}.init_args: {self.source.info.name} does not take "
                f"{', '.join(unknown)}; it takes: {', '.join(sorted(accepted[0])) or 'nothing'}"
            )


def resolve_modules(config: ServerConfig, catalog: Catalog, home: HubHome) -> list[ResolvedModule]:
    """Find every configured module, or raise ModuleNotFound naming it and listing what exists.

    A missing module is installed into ``home`` (default ``$HUB_HOME``) from the configured module
    source when there is one (``HUB_MODULE_SOURCE``, or ``module_source`` in ``$HUB_HOME/config.json``).
    """
    resolved = []
    for module in config.modules:
        if module.directory is not None:
            source = source_from_directory(module.directory)
        else:
            try:
                source = catalog.resolve(module.requirement)
            except ModuleNotFound as missing:
                from hubserving.hub.autoinstall import install_missing

                source = install_missing(module.requirement, home, missing)
        resolved.append(ResolvedModule(module, source))
        resolved[-1].check_init_args()
    return resolved


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
    lines += [f"  {m.label}  ->  POST {base}/predict/{m.config.name}" for m in resolved]
    lines += [f"Page: {base}/   Stop: Ctrl+C, or `hub serving stop --port {config.port}`"]
    print("\n".join(lines), file=out, flush=True)


def _pool_settings(config: ServerConfig, home: HubHome, metrics: ServerMetrics) -> SettingsFor:
    """How each module's pool is set up: worker environment (GPU card), log file, limits."""

    def environment(index: int) -> dict[str, str]:
        cuda = str(config.gpu[index % len(config.gpu)]) if config.use_gpu else None
        return worker_environment(os.environ, cuda)

    def log_for(index: int) -> LogSettings:
        return LogSettings(home.log_dir, home.worker_log(config.port, index).name, config.log_format)

    def settings(count: int, first_index: int) -> PoolSettings:
        return PoolSettings(
            count,
            config.timeout_s,
            environment,
            config.queue_size,
            first_index,
            log_for,
            on_restart=metrics.worker_restarts.inc,
        )

    return settings


def log_settings(config: ServerConfig, home: HubHome) -> LogSettings:
    return LogSettings(home.log_dir, home.server_log(config.port).name, config.log_format)


def module_plans(config: ServerConfig, resolved: list[ResolvedModule]) -> list[ModulePlan]:
    return [ModulePlan(module.spec(), config.workers_of(module.config)) for module in resolved]


async def run_server(
    config: ServerConfig, resolved: list[ResolvedModule], sock: socket.socket, home: HubHome, out: TextIO
) -> int:
    """Serve until a signal; return the process exit code."""
    started = time.time()
    metrics = ServerMetrics(m.config.name for m in resolved)
    template = WorkerSetup((), config.use_gpu, None, memory_limit_mb=config.worker_memory_mb)
    pool = LocalPredictor(template, _pool_settings(config, home, metrics), GRACEFUL_SHUTDOWN_S)
    metrics.watch_queue(lambda module: pool.depth.get(module, 0), pool.ready_workers)
    access_log = AccessLog(log_settings(config, home)) if config.access_log else None
    server = FrontServer(
        uvicorn.Config(
            create_app(ServingState(config, pool, metrics, access_log)),
            lifespan="off",
            log_level="warning",
            access_log=False,
            http=HttpProtocol.configured(config),
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            server_header=False,
        )
    )
    stop_requested = asyncio.Event()

    def on_signal() -> None:
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True
        stop_requested.set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)
    exit_code = 0
    try:
        await pool.start(module_plans(config, resolved))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        waiting = asyncio.create_task(pool.wait_ready())
        stopping = asyncio.create_task(stop_requested.wait())
        await asyncio.wait({waiting, stopping, serving}, return_when=asyncio.FIRST_COMPLETED)
        if waiting.done() and waiting.exception() is not None:
            error = waiting.exception()
            print(f"hubserving: a module failed to load:\n{error}", file=sys.stderr, flush=True)
            server.should_exit = True
            exit_code = 1
        elif waiting.done():
            names = [str(m.source) for m in resolved]
            write_record(home, PidRecord.for_this_process(names, config.port, config.host, started))
            _banner(config, resolved, out, time.time() - started)
        else:
            waiting.cancel()
        stopping.cancel()
        await serving
    finally:
        if access_log is not None:
            access_log.close()
        await pool.stop()
        remove_record(home, config.port, os.getpid())
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return exit_code


def serve(config: ServerConfig, home: HubHome, out: TextIO = sys.stdout) -> int:
    """Everything ``hub serving start`` does; returns the exit code. Raises HubServingError on bad input."""
    resolved = resolve_modules(config, module_catalog(home), home)
    if config.use_gpu:
        check_cards(config.gpu, detect_gpus())
    sock = bind_socket(config.host, config.port)
    configure_logging(log_settings(config, home))
    from hubserving.http.limits import raise_open_file_limit

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
