"""What each ``hub`` module command prints around the work, so the CLI file only parses."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from hubserving import __version__
from hubserving.hub.console import stdout_console
from hubserving.hub.index import build_index
from hubserving.hub.listing import module_table
from hubserving.hub.pack import pack
from hubserving.hub.run import RunRequest, parse_arguments, run_module
from hubserving.hub.uninstall import uninstall
from hubserving.paths import HubHome


def pack_command(folder: Path, output_dir: Path, archive_format: str) -> int:
    packed = pack(folder, output_dir, archive_format)
    print(
        f"Packed {packed.info.name}-{packed.info.version} ({packed.file_count} files) into {packed.archive}"
    )
    print(f"sha256 {packed.sha256} (also in {packed.archive.name}.sha256)")
    return 0


def index_build_command(folder: Path) -> int:
    path, entries = build_index(folder)
    rows = [(e.info.name, e.info.version, e.info.type, e.url, e.sha256[:12]) for e in entries]
    stdout_console().print(module_table(rows, ("Name", "Version", "Type", "Archive", "sha256")))
    print(f"Wrote {path} ({len(entries)} module{'s' if len(entries) != 1 else ''}).")
    print(f"Serve the folder (e.g. python -m http.server -d {folder} --bind 127.0.0.1 8000: --bind the")
    print("address your clients reach, or it listens on every interface) and install with")
    print("  hub install NAME[==VERSION] --source http://127.0.0.1:8000/")
    return 0


def uninstall_command(targets: Sequence[str], home: HubHome, force: bool) -> int:
    for target in targets:
        uninstall(target, home, force)
    return 0


def run_command(
    home: HubHome, module: str, texts: Sequence[str], input_file: str | None, pairs: Sequence[str]
) -> int:
    request = RunRequest(
        module, tuple(texts), Path(input_file) if input_file else None, parse_arguments(pairs)
    )
    print(run_module(home, request))
    return 0


def version_command() -> int:
    print(f"hubserving {__version__} (Python {sys.version.split()[0]})")
    return 0
