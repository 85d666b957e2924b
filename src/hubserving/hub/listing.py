"""``hub list`` and ``hub show``: tables of what is installed, read without importing (but ``show``)."""

from __future__ import annotations

from collections.abc import Iterable

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hubserving.errors import ModuleLoadError
from hubserving.hub.console import say_stderr, stdout_console
from hubserving.hub.introspect import describe_serving
from hubserving.hub.lookup import find_source
from hubserving.hub.requirements import REQUIREMENTS_FILE, unmet
from hubserving.module.decorators import ModuleInfo
from hubserving.module.finder import Catalog, ModuleSource, module_catalog
from hubserving.paths import HubHome


def location(source: ModuleSource) -> str:
    """Where a module comes from: ``built-in``, ``package <dist>``, or its folder."""
    if source.builtin:
        return "built-in"
    if source.package:
        return f"package {source.package}"
    return str(source.directory)


MODULE_COLUMNS = ("Name", "Version", "Category", "Summary", "Location")


def module_row(info: ModuleInfo, where: str) -> tuple[str, ...]:
    """One row of ``hub list`` and ``hub search`` (``MODULE_COLUMNS``)."""
    return (info.name, info.version, info.category, info.summary, where)


def module_table(rows: Iterable[tuple[str, ...]], headers: tuple[str, ...]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for header in headers:
        wraps = header in ("Summary", "Location")
        table.add_column(header, no_wrap=not wraps, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def sorted_sources(catalog: Catalog) -> list[ModuleSource]:
    return sorted(catalog.sources, key=lambda source: (source.info.name, source.version, not source.builtin))


def list_modules(home: HubHome, console: Console | None = None) -> int:
    """The table of installed modules; unreadable module folders are warned about on stderr."""
    catalog = module_catalog(home)
    rows = [module_row(source.info, location(source)) for source in sorted_sources(catalog)]
    (console or stdout_console()).print(module_table(rows, MODULE_COLUMNS))
    for problem in catalog.problems:
        say_stderr(f"warning: skipped {problem}")
    return 0


def show_module(home: HubHome, text: str, console: Console | None = None) -> int:
    """A module's metadata, then its serving method (importing it: a failing import is reported)."""
    catalog = module_catalog(home)
    source = find_source(home, text)
    out = console or stdout_console()
    grid = _details(source, catalog)
    try:
        serving = describe_serving(source)
    except ModuleLoadError:
        out.print(grid)
        raise
    batch = f" (batches: {serving.spec.batch_arg})" if serving.spec.batch_arg else ""
    grid.add_row("Serving", Text(f"{serving.class_name}.{serving.method_name}{serving.signature}{batch}"))
    grid.add_row("init_args", Text(serving.init_signature))
    grid.add_row("Request", Text(f"POST /predict/{source.info.name}"))
    out.print(grid)
    return 0


def _details(source: ModuleSource, catalog: Catalog) -> Table:
    info = source.info
    versions = sorted({s.version for s in catalog.sources if s.info.name == info.name})
    grid = Table.grid(padding=(0, 2))
    for key, value in (
        ("Name", info.name),
        ("Version", info.version),
        ("Summary", info.summary),
        ("Author", info.author),
        ("Author-Email", info.author_email),
        ("Type", info.type),
        ("Location", _full_location(source)),
        ("Versions", ", ".join(str(version) for version in versions) or "none installed"),
        ("Requirements", _requirements(source)),
    ):
        grid.add_row(key, Text(value))
    return grid


def _full_location(source: ModuleSource) -> str:
    where = location(source)
    return str(source.directory) if where == str(source.directory) else f"{source.directory} ({where})"


def _requirements(source: ModuleSource) -> str:
    path = source.directory / REQUIREMENTS_FILE
    if not path.is_file():
        return "none"
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    listed = ", ".join(line for line in lines if line and not line.startswith("#"))
    missing = unmet(path)
    return listed + (f" (missing: {', '.join(missing)})" if missing else "")
