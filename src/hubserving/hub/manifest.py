"""``hubmodule.json``: what ``hub pack`` records in an archive, checked again by ``hub install``.

It holds the module's metadata and the sha256 of every file, so a file changed, added or removed after
packing is caught at install time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from hubserving import __version__
from hubserving.errors import ArchiveError, ChecksumMismatch
from hubserving.hub.archive import is_archive_name, sha256_file
from hubserving.module.decorators import ModuleInfo

MANIFEST_FILE = "hubmodule.json"
MANIFEST_FORMAT = 1
_SKIPPED_DIRS = {"__pycache__"}


def module_files(folder: Path, info: ModuleInfo) -> list[str]:
    """The files that make up a module folder, as sorted POSIX paths relative to it.

    Skipped: hidden files and folders, ``__pycache__``, ``*.pyc``, the manifest, and this module's own
    archives and checksum files (``hub pack`` run inside the folder). Links to files count as files.
    """
    own_outputs = f"{info.name}-"
    found: list[str] = []
    for directory, subdirs, names in os.walk(folder):
        here = Path(directory)
        for sub in subdirs:
            if (here / sub).is_symlink() and not sub.startswith("."):
                raise ArchiveError(f"{here / sub} is a link to a folder: copy the folder in instead")
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        for name in names:
            relative = (here / name).relative_to(folder).as_posix()
            if name.startswith(".") or name.endswith(".pyc") or relative == MANIFEST_FILE:
                continue
            own_output = name.startswith(own_outputs) and (is_archive_name(name) or name.endswith(".sha256"))
            if own_output and "/" not in relative:
                continue
            found.append(relative)
    return sorted(found)


def _every_file(folder: Path) -> set[str]:
    """All files of an unpacked archive, hidden ones included, but the manifest."""
    return {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and path.relative_to(folder).as_posix() != MANIFEST_FILE
    }


@dataclass(frozen=True)
class Manifest:
    """A packed module: its metadata and each file's sha256.

    On disk one flat object: name, version, summary, author, type, files, packed_by, format.
    """

    info: ModuleInfo
    files: dict[str, str]
    packed_by: str = f"hubserving {__version__}"
    format: int = MANIFEST_FORMAT

    @classmethod
    def of_folder(cls, folder: Path, info: ModuleInfo) -> Manifest:
        digests = {relative: sha256_file(folder / relative) for relative in module_files(folder, info)}
        return cls(info, digests)

    def to_json(self) -> str:
        info = self.info
        body = {
            "name": info.name,
            "version": info.version,
            "summary": info.summary,
            "author": info.author,
            "type": info.type,
            "files": self.files,
            "packed_by": self.packed_by,
            "format": self.format,
        }
        return json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def read_manifest(folder: Path) -> Manifest | None:
    """The folder's manifest, None when there is none; ArchiveError when it is damaged."""
    path = folder / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = {str(key): str(value) for key, value in dict(data["files"]).items()}
        info = ModuleInfo(
            str(data["name"]),
            str(data["version"]),
            str(data.get("summary", "")),
            str(data.get("author", "")),
            type=str(data.get("type", "")),
        )
        return Manifest(info, files, str(data.get("packed_by", "")), int(data.get("format", MANIFEST_FORMAT)))
    except (ValueError, KeyError, TypeError) as error:
        raise ArchiveError(f"{path} is not a valid {MANIFEST_FILE}: {error}") from None


def verify_manifest(folder: Path, info: ModuleInfo, label: str) -> bool:
    """Check an unpacked module against its manifest; False when it has none. Raises on any difference."""
    manifest = read_manifest(folder)
    if manifest is None:
        return False
    if (manifest.info.name, manifest.info.version) != (info.name, info.version):
        raise ChecksumMismatch(
            f"{label}: its {MANIFEST_FILE} is for {manifest.info.name}-{manifest.info.version} "
            f"but module.py says {info.name}-{info.version}"
        )
    present = _every_file(folder)
    missing = sorted(set(manifest.files) - present)
    extra = sorted(present - set(manifest.files))
    changed = sorted(
        name for name in set(manifest.files) & present if sha256_file(folder / name) != manifest.files[name]
    )
    if missing or extra or changed:
        details = "; ".join(
            f"{what}: {', '.join(names)}"
            for what, names in (("missing", missing), ("not in the manifest", extra), ("changed", changed))
            if names
        )
        raise ChecksumMismatch(
            f"{label} does not match its {MANIFEST_FILE} ({details}); nothing was installed"
        )
    return True
