"""``hub search [pattern]``: installed modules and the module index's, in one table."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version
from rich.console import Console

from hubserving.errors import HubServingError
from hubserving.hub.console import say_stderr, stdout_console
from hubserving.hub.index import IndexEntry, matches
from hubserving.hub.listing import location, module_table, sorted_sources
from hubserving.hub.sources import configured_source, load_index, source_from_text
from hubserving.module.finder import module_catalog
from hubserving.paths import HubHome


@dataclass(frozen=True)
class Found:
    name: str
    version: str
    category: str
    summary: str
    where: str


def search_modules(
    home: HubHome, pattern: str = "", source: str | None = None, console: Console | None = None
) -> int:
    """Rows whose name, summary or type contain ``pattern`` (case-insensitive); all without one."""
    rows = {
        (s.info.name, s.info.version): Found(
            s.info.name, s.info.version, s.info.category, s.info.summary, location(s)
        )
        for s in sorted_sources(module_catalog(home))
        if matches((s.info.name, s.info.summary, s.info.type), pattern)
    }
    for entry in _index_entries(home, source):
        key = (entry.name, entry.version)
        if key not in rows and matches((entry.name, entry.summary, entry.type), pattern):
            category = entry.type.split("/", 1)[0]
            rows[key] = Found(entry.name, entry.version, category, entry.summary, "index (not installed)")
    out = console or stdout_console()
    if not rows:
        out.print(f"No module matches {pattern!r}." if pattern else "No modules found.")
        return 0
    ordered = sorted(rows.values(), key=lambda found: (found.name, Version(found.version)))
    table_rows = [(f.name, f.version, f.category, f.summary, f.where) for f in ordered]
    out.print(module_table(table_rows, ("Name", "Version", "Category", "Summary", "Location")))
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
