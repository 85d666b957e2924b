"""``hub serving reload|load|unload``: parse, then ask the running server (hubserving.manage)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from hubserving.config import default_of
from hubserving.errors import ConfigError
from hubserving.paths import HubHome


def _port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-p",
        "--port",
        type=int,
        default=default_of("port"),
        help=f"the server's port (default {default_of('port')})",
    )
    parser.add_argument(
        "--api-key", "--api_key", default=None, help="the server's --api-key (env HUB_API_KEY too)"
    )


def register(actions: Any) -> None:
    """Add ``reload``, ``load`` and ``unload`` under ``hub serving``."""
    reload = actions.add_parser(
        "reload",
        help="rolling reload: new workers first, then the switch; no request fails",
        description="Reload modules of a running server (new version, changed code or config): "
        "hub serving reload -p 8866",
    )
    _port(reload)
    reload.add_argument(
        "-m", "--modules", nargs="+", default=[], metavar="NAME", help="only these (default: all)"
    )
    reload.set_defaults(handler=run_reload)

    load = actions.add_parser("load", help="serve one more module (server started with --admin)")
    _port(load)
    load.add_argument(
        "-m", "--module", required=True, metavar="NAME[==VERSION]", help="a module name or folder"
    )
    load.add_argument("--config", default=None, help="its config entry as JSON, e.g. '{\"workers\": 2}'")
    load.set_defaults(handler=run_load)

    unload = actions.add_parser("unload", help="stop serving a module (server started with --admin)")
    _port(unload)
    unload.add_argument("-m", "--module", required=True, metavar="NAME", help="the served module's name")
    unload.set_defaults(handler=run_unload)


def run_reload(args: argparse.Namespace) -> int:
    from hubserving.manage import reload_modules

    done = reload_modules(HubHome.from_env(), args.port, args.modules, args.api_key)
    print(f"Reloaded {', '.join(done)} on port {args.port}; no request was dropped.")
    return 0


def _entry(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        entry = json.loads(text)
    except ValueError as error:
        raise ConfigError(f"--config is not valid JSON: {error}") from None
    if not isinstance(entry, dict):
        raise ConfigError('--config must be a JSON object like {"init_args": {...}, "workers": 2}')
    return entry


def run_load(args: argparse.Namespace) -> int:
    from hubserving.manage import load_module

    load_module(HubHome.from_env(), args.port, args.module, _entry(args.config), args.api_key)
    print(f"Loaded {args.module} on port {args.port}.", file=sys.stdout)
    return 0


def run_unload(args: argparse.Namespace) -> int:
    from hubserving.manage import unload_module

    unload_module(HubHome.from_env(), args.port, args.module, args.api_key)
    print(f"Unloaded {args.module} from port {args.port}.")
    return 0
