"""The module index: a static ``index.json`` listing archives, so any file server is a module hub.

    {"format": 1, "modules": [{"name": "lac", "version": "2.2.0", "summary": "...", "type": "nlp/...",
                               "url": "lac-2.2.0.tar.gz", "sha256": "<64 hex>", "size": 12345}]}

``url`` is absolute (``https://...``) or relative to the index's own location.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import Version

from hubserving import __version__
from hubserving.errors import ArchiveError, InstallError, ModuleIndexError, ModuleNotFound
from hubserving.hub.archive import ARCHIVE_SUFFIXES, ArchiveLimits, extract, module_root, sha256_file
from hubserving.hub.manifest import verify_manifest
from hubserving.hub.pack import read_info
from hubserving.module.decorators import ModuleInfo
from hubserving.module.requirement import Requirement, check_module_name, check_version, newest_matching

INDEX_FILE = "index.json"
INDEX_FORMAT = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class IndexEntry:
    """One archive the index offers: the module it holds, where it is, and its checksum."""

    info: ModuleInfo
    url: str
    sha256: str
    size: int | None = None

    @property
    def parsed_version(self) -> Version:
        return Version(self.info.version)

    def to_json(self) -> dict[str, Any]:
        """The entry as ``index.json`` writes it (a flat object)."""
        info = self.info
        return {
            "name": info.name,
            "version": info.version,
            "summary": info.summary,
            "type": info.type,
            "url": self.url,
            "sha256": self.sha256,
            "size": self.size,
        }

    def __str__(self) -> str:
        return f"{self.info.name}-{self.info.version}"


def parse_index(data: Any, where: str) -> list[IndexEntry]:
    """The entries of a decoded ``index.json``; ModuleIndexError naming the first bad one."""
    if not isinstance(data, dict) or not isinstance(data.get("modules"), list):
        raise ModuleIndexError(f'{where} is not a module index: expected {{"modules": [...]}}')
    return [_entry(item, f"{where}: modules[{position}]") for position, item in enumerate(data["modules"])]


def _entry(item: Any, where: str) -> IndexEntry:
    if not isinstance(item, dict):
        raise ModuleIndexError(f"{where} is not an object")
    for key in ("name", "version", "url", "sha256"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise ModuleIndexError(f"{where} needs {key!r} (a string)")
    check_module_name(item["name"], f"{where}: name", ModuleIndexError)
    check_version(item["version"], f"{where}: version", ModuleIndexError)
    if not _SHA256.match(item["sha256"].lower()):
        raise ModuleIndexError(f"{where}: sha256 must be 64 hexadecimal digits")
    size = item.get("size")
    info = ModuleInfo(
        item["name"], item["version"], str(item.get("summary", "")), type=str(item.get("type", ""))
    )
    return IndexEntry(info, item["url"], item["sha256"].lower(), size if isinstance(size, int) else None)


def pick(entries: Sequence[IndexEntry], requirement: Requirement, where: str) -> IndexEntry:
    """The newest entry matching ``requirement``, or ModuleNotFound listing what the index has."""
    same_name = [entry for entry in entries if entry.info.name == requirement.name]
    newest = newest_matching(requirement, same_name, lambda entry: entry.parsed_version)
    if newest is not None:
        return newest
    if same_name:
        versions = ", ".join(sorted({e.info.version for e in same_name}, key=Version))
        raise ModuleNotFound(f"{requirement} is not in the index at {where}; its versions there: {versions}")
    names = ", ".join(sorted({entry.info.name for entry in entries})) or "none"
    raise ModuleNotFound(
        f"No module named {requirement.name} in the index at {where} (modules there: {names})"
    )


def describe_archive(archive: Path, limits: ArchiveLimits | None = None) -> IndexEntry:
    """An index entry for one archive: unpacked (safely) into a temporary folder to read and check it."""
    with tempfile.TemporaryDirectory(prefix="hubserving-index-") as scratch:
        unpacked = Path(scratch) / "unpacked"
        extract(archive, unpacked, limits)
        root = module_root(unpacked, archive)
        info = read_info(root)
        verify_manifest(root, info, archive.name)
    return IndexEntry(info, archive.name, sha256_file(archive), archive.stat().st_size)


def build_index(folder: Path, limits: ArchiveLimits | None = None) -> tuple[Path, list[IndexEntry]]:
    """Write ``<folder>/index.json`` for every archive in ``folder``; refuse duplicates and bad archives."""
    if not folder.is_dir():
        raise ModuleIndexError(f"{folder} is not a folder of module archives")
    archives = sorted(
        p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(ARCHIVE_SUFFIXES)
    )
    entries: list[IndexEntry] = []
    for archive in archives:
        try:
            entries.append(describe_archive(archive, limits))
        except (ArchiveError, InstallError) as error:
            raise ModuleIndexError(f"cannot index {archive.name}: {error}") from None
    seen: dict[tuple[str, Version], str] = {}
    for entry in entries:
        key = (entry.info.name, entry.parsed_version)
        if key in seen:
            raise ModuleIndexError(f"{entry} is in both {seen[key]} and {entry.url}: keep one")
        seen[key] = entry.url
    entries.sort(key=lambda entry: (entry.info.name, entry.parsed_version))
    path = folder / INDEX_FILE
    modules = [entry.to_json() for entry in entries]
    body = {"format": INDEX_FORMAT, "generated_by": f"hubserving {__version__}", "modules": modules}
    path.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path, entries
