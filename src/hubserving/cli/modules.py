"""``hub install|uninstall|list|show|search|run|pack|index|version``: parse, then call ``hubserving.hub``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hubserving.paths import HubHome

SOURCE_HELP = "module index: a URL, a folder or an index.json (default: $HUB_MODULE_SOURCE or config)"


def register(commands: Any) -> None:
    """Add the module commands to the top-level subcommands."""
    _install(commands)
    uninstall = commands.add_parser("uninstall", help="remove installed modules")
    uninstall.add_argument("targets", nargs="+", metavar="NAME[==VERSION]", help="no version: every version")
    uninstall.add_argument("--force", action="store_true", help="even if a running server serves it")
    uninstall.set_defaults(handler=run_uninstall)

    listing = commands.add_parser("list", help="list installed modules")
    listing.set_defaults(handler=run_list)

    show = commands.add_parser("show", help="describe a module (imports it to show its serving method)")
    show.add_argument("module", metavar="NAME[==VERSION]")
    show.set_defaults(handler=run_show)

    search = commands.add_parser("search", help="search installed modules and the module index")
    search.add_argument("pattern", nargs="?", default="", help="text in a name, summary or type")
    search.add_argument("--source", default=None, help=SOURCE_HELP)
    search.set_defaults(handler=run_search)

    _run(commands)
    _pack(commands)
    version = commands.add_parser("version", help="print the hubserving version")
    version.set_defaults(handler=run_version)


def _install(commands: Any) -> None:
    install = commands.add_parser(
        "install",
        help="install modules from an index, a folder or an archive",
        description="hub install lac==2.2.0 | ./my_module | my_module-1.0.0.tar.gz | x.zip",
        epilog="An archive that unpacks to too much is refused; raise the limits with HUB_ARCHIVE_MAX_MB, "
        "HUB_ARCHIVE_MAX_FILES or HUB_ARCHIVE_MAX_RATIO (unpacked size per archive byte).",
    )
    install.add_argument("targets", nargs="+", metavar="NAME[==VERSION]|FOLDER|ARCHIVE")
    install.add_argument("--source", default=None, help=SOURCE_HELP)
    install.add_argument(
        "-y", "--yes", action="store_true", help="pip install a module's requirements.txt without asking"
    )
    install.add_argument(
        "--force", action="store_true", help="reinstall an installed version, even one a server serves"
    )
    install.set_defaults(handler=run_install)


def _run(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="load a module here and print its serving method's result as JSON",
        description='hub run lac --input_text "今天是个好日子"',
    )
    run.add_argument("module", metavar="NAME[==VERSION]")
    run.add_argument(
        "--input_text", "--input-text", action="append", default=[], help="an input text (repeatable)"
    )
    run.add_argument(
        "--input_file", "--input-file", default=None, help="a text file, one input a line; or an image"
    )
    run.add_argument(
        "--arg", action="append", default=[], metavar="KEY=VALUE", help="another argument (JSON value)"
    )
    run.set_defaults(handler=run_run)


def _pack(commands: Any) -> None:
    pack = commands.add_parser("pack", help="pack a module folder into an archive with a manifest and sha256")
    pack.add_argument("folder")
    pack.add_argument("-o", "--output", default=".", help="folder to write the archive to (default .)")
    pack.add_argument("--format", choices=("tar.gz", "zip"), default="tar.gz")
    pack.set_defaults(handler=run_pack)

    index = commands.add_parser("index", help="module index tools")
    actions = index.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", help="write index.json for a folder of module archives")
    build.add_argument("folder")
    build.set_defaults(handler=run_index_build)


def run_install(args: argparse.Namespace) -> int:
    from hubserving.hub.install import InstallOptions, install_all

    home = HubHome.from_env()
    return install_all(args.targets, InstallOptions.from_flags(home, args.source, args.force, args.yes))


def run_uninstall(args: argparse.Namespace) -> int:
    from hubserving.hub.commands import uninstall_command

    return uninstall_command(args.targets, HubHome.from_env(), args.force)


def run_list(args: argparse.Namespace) -> int:
    from hubserving.hub.listing import list_modules

    return list_modules(HubHome.from_env())


def run_show(args: argparse.Namespace) -> int:
    from hubserving.hub.listing import show_module

    return show_module(HubHome.from_env(), args.module)


def run_search(args: argparse.Namespace) -> int:
    from hubserving.hub.search import search_modules

    return search_modules(HubHome.from_env(), args.pattern, args.source)


def run_run(args: argparse.Namespace) -> int:
    from hubserving.hub.commands import run_command

    return run_command(HubHome.from_env(), args.module, args.input_text, args.input_file, args.arg)


def run_pack(args: argparse.Namespace) -> int:
    from hubserving.hub.commands import pack_command

    return pack_command(Path(args.folder), Path(args.output), args.format)


def run_index_build(args: argparse.Namespace) -> int:
    from hubserving.hub.commands import index_build_command

    return index_build_command(Path(args.folder))


def run_version(args: argparse.Namespace) -> int:
    from hubserving.hub.commands import version_command

    return version_command()
