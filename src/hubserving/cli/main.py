"""``hub``: parse the command line and call the chosen command's handler. No logic here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hubserving import __version__
from hubserving.cli import modules, serving
from hubserving.errors import ConfigError, HubServingError

COMMAND_GROUPS = (serving, modules)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description="Serve trained models over HTTP.")
    parser.add_argument("--version", action="version", version=f"hubserving {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    raw_argv = list(argv) if argv is not None else sys.argv[1:]
    args = build_parser().parse_args(raw_argv)
    args.raw_argv = raw_argv
    try:
        return int(args.handler(args))
    except HubServingError as error:
        print(f"hubserving: error: {error}", file=sys.stderr)
        return 2 if isinstance(error, ConfigError) else 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
