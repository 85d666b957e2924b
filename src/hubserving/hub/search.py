"""``hub search [pattern]``: installed modules and the module index's, in one table."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version
from rich.console import Console

from hubserving.errors import HubServingError
from hubserving.hub.console import say_stderr, stdout_console
from hubserving.hub.index import IndexEntry
from hubserving.hub.listing import MODULE_COLUMNS, location, module_row, module_table, sorted_sources
from hubserving.hub.sources import configured_source, load_index, source_from_text
from hubserving.module.decorators import ModuleInfo
from hubserving.module.finder import module_catalog
from hubserving.paths import HubHome


@dataclass(frozen=True)
class Found:
    """One row: a module, and where it is (installed, or only in the index)."""

    info: ModuleInfo
    where: str

    def row(self) -> tuple[str, ...]:
        return module_row(self.info, self.where)


def matches(info: ModuleInfo, pattern: str) -> bool:
    """Case-insensitive substring search over a module's name, summary and type."""
    needle = pattern.lower()
    return any(needle in text.lower() for text in (info.name, info.summary, info.type))


def search_modules(
    home: HubHome, pattern: str = "", source: str | None = None, console: Console | None = None
) -> int:
    """Rows whose name, summary or type contain ``pattern`` (case-insensitive); all without one."""
    rows = {
        (s.info.name, s.info.version): Found(s.info, location(s))
        for s in sorted_sources(module_catalog(home))
        if matches(s.info, pattern)
    }
    for entry in _index_entries(home, source):
        key = (entry.info.name, entry.info.version)
        if key not in rows and matches(entry.info, pattern):
            rows[key] = Found(entry.info, "index (not installed)")
    out = console or stdout_console()
    if not rows:
        out.print(f"No module matches {pattern!r}." if pattern else "No modules found.")
        return 0
    ordered = sorted(rows.values(), key=lambda found: (found.info.name, Version(found.info.version)))
    out.print(module_table([found.row() for found in ordered], MODULE_COLUMNS))
    return 0


def _index_entries(home: HubHome, explicit: str | None) -> list[IndexEntry]:
    """The index's entries: a failing ``--source`` is an error, a failing default source a warning."""
    text = explicit or configured_source(home)
    if text is None:
        return []
    try:
        return load_index(source_from_text(text))
    except HubServingError as error:
        if explicit:
            raise
        say_stderr(f"warning: searched installed modules only: {error}")
        return []
