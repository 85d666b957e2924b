"""Module archives (``.tar.gz``, ``.tgz``, ``.zip``), unpacked so that nothing lands outside the target.

Every member is checked before anything is written: absolute paths, ``..``, links and device or other
special files are refused, and each file is created anew (``xb``) under the target folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from hubserving.errors import ArchiveError
from hubserving.module.finder import MODULE_FILE

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".zip")
CHUNK_BYTES = 1 << 20

Opener = Callable[[Any], IO[bytes] | None]


def is_archive_name(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class _Member:
    """One archive entry, checked: its path parts under the target, and how to read it."""

    parts: tuple[str, ...]
    is_dir: bool
    executable: bool
    handle: Any  # the TarInfo or ZipInfo


def safe_parts(name: str, archive: Path) -> tuple[str, ...]:
    """The path parts of a member name, or ArchiveError if it could point outside the target."""
    unsafe = name.startswith("/") or "\\" in name or (len(name) > 1 and name[1] == ":") or "\0" in name
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    if unsafe or ".." in parts:
        raise ArchiveError(f"{archive.name}: refusing member {name!r}: it points outside the module folder")
    return parts


def _tar_members(tar: tarfile.TarFile, archive: Path) -> Iterator[_Member]:
    for member in tar.getmembers():
        if member.issym() or member.islnk():
            kind = "a symbolic link" if member.issym() else "a hard link"
            raise ArchiveError(
                f"{archive.name}: refusing member {member.name!r}: it is {kind} (to {member.linkname!r}); "
                "module archives may hold only files and folders"
            )
        if not (member.isfile() or member.isdir()):
            raise ArchiveError(
                f"{archive.name}: refusing member {member.name!r}: it is a device or other special file"
            )
        parts = safe_parts(member.name, archive)
        if parts:
            yield _Member(parts, member.isdir(), bool(member.mode & 0o111), member)


def _zip_members(archive_zip: zipfile.ZipFile, archive: Path) -> Iterator[_Member]:
    for info in archive_zip.infolist():
        mode = info.external_attr >> 16
        kind = stat.S_IFMT(mode)
        if stat.S_ISLNK(mode):
            raise ArchiveError(
                f"{archive.name}: refusing member {info.filename!r}: it is a symbolic link; "
                "module archives may hold only files and folders"
            )
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise ArchiveError(
                f"{archive.name}: refusing member {info.filename!r}: it is a device or other special file"
            )
        parts = safe_parts(info.filename, archive)
        if parts:
            yield _Member(parts, info.is_dir(), bool(mode & 0o111), info)


def _write(member: _Member, source: IO[bytes], target: Path, archive: Path) -> None:
    destination = target.joinpath(*member.parts)
    if not destination.resolve().is_relative_to(target.resolve()):
        raise ArchiveError(f"{archive.name}: refusing {'/'.join(member.parts)}: it leaves the module folder")
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        with destination.open("xb") as output:
            shutil.copyfileobj(source, output, CHUNK_BYTES)
    except FileExistsError:
        raise ArchiveError(f"{archive.name}: {'/'.join(member.parts)} appears twice") from None
    os.chmod(destination, 0o755 if member.executable else 0o644)


def extract(archive: Path, target: Path) -> None:
    """Unpack ``archive`` into the empty folder ``target``; check every member before writing any."""
    target.mkdir(parents=True, exist_ok=True)
    try:
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as bundle:
                _extract_all(list(_zip_members(bundle, archive)), bundle.open, target, archive)
        else:
            with tarfile.open(archive, "r:*") as tar:
                _extract_all(list(_tar_members(tar, archive)), tar.extractfile, target, archive)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as error:
        raise ArchiveError(f"{archive}: not a readable .tar.gz or .zip archive ({error})") from None


def _extract_all(members: list[_Member], opener: Opener, target: Path, archive: Path) -> None:
    for member in members:
        if member.is_dir:
            target.joinpath(*member.parts).mkdir(parents=True, exist_ok=True)
            continue
        source = opener(member.handle)
        if source is None:
            raise ArchiveError(f"{archive.name}: cannot read {'/'.join(member.parts)}")
        with source:
            _write(member, source, target, archive)


def module_root(folder: Path, archive: Path) -> Path:
    """The module folder inside an unpacked archive: its top, or its single top-level folder."""
    if (folder / MODULE_FILE).is_file():
        return folder
    entries = [entry for entry in folder.iterdir() if not entry.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / MODULE_FILE).is_file():
        return entries[0]
    raise ArchiveError(
        f"{archive.name} holds no {MODULE_FILE} at its top or in one top-level folder: "
        "make archives with `hub pack <module folder>`"
    )
