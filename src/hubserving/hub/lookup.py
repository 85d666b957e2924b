"""A module named on the command line: ``name[==version]`` from the catalog, or a module folder."""

from __future__ import annotations

from pathlib import Path

from hubserving.module.finder import ModuleSource, module_catalog, source_from_directory
from hubserving.module.requirement import looks_like_folder, parse_requirement
from hubserving.paths import HubHome


def find_source(home: HubHome, text: str) -> ModuleSource:
    """``./folder``, ``/srv/folder``, ``~/folder`` or ``a/b`` is a folder; anything else a name."""
    if looks_like_folder(text):
        return source_from_directory(Path(text).expanduser())
    return module_catalog(home).resolve(parse_requirement(text))
