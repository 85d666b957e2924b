"""A module named on the command line: ``name[==version]`` from the catalog, or a module folder."""

from __future__ import annotations

from pathlib import Path

from hubserving.module.finder import ModuleSource, module_catalog, source_from_directory
from hubserving.module.requirement import parse_requirement
from hubserving.paths import HubHome


def find_source(home: HubHome, text: str) -> ModuleSource:
    """``./folder`` (anything with a slash, or starting with ``.``) is a folder; otherwise a name."""
    if "/" in text or text.startswith("."):
        return source_from_directory(Path(text).expanduser())
    return module_catalog(home).resolve(parse_requirement(text))
