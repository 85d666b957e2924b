"""``hub serving start|stop|status``: parse, build the config, hand it to the server."""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
from pathlib import Path
from typing import Any

from hubserving.cli import manage
from hubserving.config import (
    LOG_FORMATS,
    ServerConfig,
    check_api_key,
    check_port,
    config_from_json,
    default_of,
    default_workers,
    load_config_file,
    modules_info_from_texts,
    parse_config_text,
)
from hubserving.errors import ConfigError
from hubserving.paths import HubHome

# Flags that are config.json keys: (argparse destination, config key). The first group applies only
# without -c; the second over a config file too.
MODULE_FLAGS = {
    "port": "port",
    "host": "host",
    "use_multiprocess": "use_multiprocess",
    "workers": "workers",
    "use_gpu": "use_gpu",
    "gpu": "gpu",
    "timeout": "timeout",
}
OPERATIONAL_FLAGS = {
    "queue_size": "queue_size",
    "api_key": "api_key",
    "cors": "cors",
    "grpc_port": "grpc_port",
    "admin": "admin",
    "reload": "reload",
    "log_format": "log_format",
    "ray": "ray",
}


def register(commands: Any) -> None:
    """Add ``hub serving ...`` to the top-level subcommands."""
    serving = commands.add_parser("serving", help="start, stop or list prediction servers")
    actions = serving.add_subparsers(dest="action", required=True)

    start = actions.add_parser(
        "start",
        help="serve modules on a port",
        description="Serve modules: hub serving start -m lac [-p 8866]",
    )
    start.add_argument(
        "-m",
        "--modules",
        nargs="+",
        metavar="NAME[==VERSION]",
        help="modules to serve, e.g. -m lac senta_bilstm==1.2.0",
    )
    start.add_argument(
        "--name", default=None, help="the URL name of a folder given to -m (default: the folder's name)"
    )
    start.add_argument("-c", "--config", help="a config.json; the other start flags are then ignored")
    start.add_argument("-p", "--port", type=int, default=None, help=f"port (default {default_of('port')})")
    start.add_argument(
        "--host", default=None, help=f"address to listen on (default {default_of('host')}: every interface)"
    )
    start.add_argument("--use_multiprocess", action="store_true", help="one worker process per --workers")
    start.add_argument(
        "-w",
        "--workers",
        type=int,
        default=None,
        help=f"worker processes with --use_multiprocess (default: one per core = {default_workers()})",
    )
    start.add_argument("--use_gpu", action="store_true", help="predict on GPU cards (one worker per card)")
    start.add_argument("-i", "--gpu", default=None, help="GPU cards, e.g. 0,1 (default 0)")
    start.add_argument(
        "--timeout",
        type=float,
        default=None,
        help=f"seconds a request may take (default {default_of('timeout_s'):g})",
    )
    start.add_argument(
        "--queue_size",
        "--queue-size",
        type=int,
        default=None,
        help=f"requests waiting or running per module before 503 (default {default_of('queue_size')})",
    )
    start.add_argument(
        "--api-key",
        "--api_key",
        default=None,
        help="require this key (Authorization: Bearer or X-API-Key); env HUB_API_KEY too",
    )
    start.add_argument(
        "--cors", default=None, help='allowed browser origins, e.g. "https://app.example.com" or "*"'
    )
    start.add_argument(
        "--log-format",
        "--log_format",
        choices=LOG_FORMATS,
        default=None,
        help="text (default) or json, for log shippers",
    )
    start.add_argument(
        "--no-access-log",
        "--no_access_log",
        dest="no_access_log",
        action="store_true",
        help="do not log a line per request (it costs about a tenth of peak throughput)",
    )
    start.add_argument(
        "--grpc-port",
        "--grpc_port",
        type=int,
        default=None,
        help="also serve the Open Inference Protocol over gRPC on this port (off by default)",
    )
    start.add_argument(
        "--admin",
        action="store_true",
        help="take management requests: load and unload modules at run time (they run module code)",
    )
    start.add_argument(
        "--reload",
        action="store_true",
        help="for module authors: reload a module (rolling, no dropped request) when its folder changes",
    )
    start.add_argument(
        "--ray",
        metavar="ADDRESS",
        default=None,
        help="serve on a Ray cluster: auto (this machine's, or RAY_ADDRESS), host:6379, ray://host:10001, "
        "or local (start one here); needs the ray extra",
    )
    start.add_argument(
        "--detach",
        action="store_true",
        help="run in the background; return once ready (logs in $HUB_HOME/log/)",
    )

    start.set_defaults(handler=run_start)
    status = actions.add_parser("status", help="list running servers")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.set_defaults(handler=run_status)

    stop = actions.add_parser("stop", help="stop the server on a port")
    stop.add_argument(
        "-p",
        "--port",
        type=int,
        default=default_of("port"),
        help=f"port of the server to stop (default {default_of('port')})",
    )
    stop.set_defaults(handler=run_stop)
    manage.register(actions)


def _given(args: argparse.Namespace, flags: dict[str, str]) -> dict[str, Any]:
    """The config keys of the flags given on the command line (store_true flags only when set)."""
    values = {key: getattr(args, dest) for dest, key in flags.items()}
    return {key: value for key, value in values.items() if value is not None and value is not False}


def _spell(key: str) -> str:
    return "--" + key


def config_from_args(args: argparse.Namespace) -> tuple[ServerConfig, list[str]]:
    """The start config and any warnings about flags that do not apply.

    The flags become the same mapping a config.json holds, validated by the same function.
    """
    warnings: list[str] = []
    operational = _given(args, OPERATIONAL_FLAGS)
    if args.no_access_log:
        operational["access_log"] = False
    if args.config:
        ignored = [_spell(key) for key in _given(args, MODULE_FLAGS)] + (["-m"] if args.modules else [])
        if ignored:
            warnings.append(f"-c {args.config} is used; ignoring {' '.join(ignored)}")
        config = load_config_file(Path(args.config), operational)
        file_keys = parse_config_text(Path(args.config).read_bytes(), Path(args.config))
        if isinstance(file_keys, dict) and "workers" in file_keys:
            warnings += _workers_ignored(config, '"workers"', '"use_multiprocess": true')
        if config.api_key is None and os.environ.get("HUB_API_KEY"):
            config = dataclasses.replace(
                config, api_key=check_api_key(os.environ["HUB_API_KEY"], "HUB_API_KEY")
            )
    elif args.modules:
        if "api_key" not in operational and os.environ.get("HUB_API_KEY"):
            operational["api_key"] = os.environ["HUB_API_KEY"]
        data = {"modules_info": modules_info_from_texts(args.modules, args.name)}
        config = config_from_json(
            {**data, **_given(args, MODULE_FLAGS), **operational}, "command line", spell=_spell
        )
        if args.workers is not None:
            warnings += _workers_ignored(config, "--workers", "--use_multiprocess")
    else:
        raise ConfigError(
            "nothing to serve: give modules with -m (e.g. hub serving start -m lac) "
            "or a config file with -c config.json"
        )
    return _platform_adjusted(config, warnings), warnings


def _workers_ignored(config: ServerConfig, workers: str, multiprocess: str) -> list[str]:
    """PaddleHub's rule, kept: the worker count applies only in multiprocess mode. Say so when it is given
    without it (a module's own ``workers`` in ``modules_info`` always applies)."""
    if config.use_multiprocess or config.use_gpu:
        return []
    return [
        f"{workers} {config.workers} applies only with {multiprocess} (as in PaddleHub): serving one "
        f"worker process per module; add {multiprocess} to start {config.workers}"
    ]


def _platform_adjusted(config: ServerConfig, warnings: list[str]) -> ServerConfig:
    if config.use_gpu and config.use_multiprocess:
        warnings.append("--use_gpu wins: --use_multiprocess is ignored (one worker per GPU card)")
        config = dataclasses.replace(config, use_multiprocess=False)
    if config.use_multiprocess and platform.system() == "Windows":
        warnings.append("--use_multiprocess is not supported on Windows; serving with one process")
        config = dataclasses.replace(config, use_multiprocess=False)
    return config


def run_start(args: argparse.Namespace) -> int:
    config, warnings = config_from_args(args)
    for warning in warnings:
        print(f"hubserving: warning: {warning}", file=sys.stderr)
    if args.detach:
        from hubserving.detach import start_detached

        argv = [arg for arg in args.raw_argv if arg != "--detach"]
        return start_detached(argv, HubHome.from_env(), config.port)
    from hubserving.server import serve

    return serve(config, HubHome.from_env())


def run_status(args: argparse.Namespace) -> int:
    from hubserving.status import print_status

    return print_status(HubHome.from_env(), as_json=args.json)


def run_stop(args: argparse.Namespace) -> int:
    from hubserving.stop import StopOutcome, stop_server

    port = check_port(args.port, "--port")
    result = stop_server(
        HubHome.from_env(), port, announce=lambda: print("PaddleHub Serving will stop.", flush=True)
    )
    if result.outcome is StopOutcome.NO_RECORD:
        print(
            f"PaddleHub Serving config file is not exists, please confirm the port [{port}] "
            "you specified is correct."
        )
        return 1
    if result.outcome is StopOutcome.ALREADY_STOPPED:
        print("PaddleHub Serving has been stopped.")
        return 0
    if result.outcome is StopOutcome.NOT_A_SERVER:
        print(
            f"hubserving: the record of port {port} names pid {result.pids[0]}, which is not a hubserving "
            "server (its pid was reused); removed the stale record and signalled nothing"
        )
        return 0
    if result.outcome is StopOutcome.KILLED:
        print(f"hubserving: the server did not stop in time; killed processes {list(result.pids)}")
    return 0
