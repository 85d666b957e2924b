"""Module archives (``.tar.gz``, ``.tgz``, ``.zip``), unpacked so that nothing lands outside the target.

Every member is checked before anything is written: absolute paths, ``..``, links and device or other
special files are refused, and each file is created anew (``xb``) under the target folder. So is the
whole: an archive with too many members, or one that unpacks to too much (in all, or for its own size,
as a zip bomb does), is refused with nothing written (``ArchiveLimits``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

from hubserving.errors import ArchiveError, ConfigError
from hubserving.module.finder import MODULE_FILE

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".zip")
CHUNK_BYTES = 1 << 20
MB = 1 << 20

MAX_UNPACKED_MB = 8192  # the largest published models are a few GB
MAX_MEMBERS = 10_000  # files and folders
MAX_RATIO = 100  # unpacked bytes per archive byte; model weights barely compress, zeros do 1000 times
RATIO_CHECKED_ABOVE_MB = 64  # small archives of text may compress well: only big ones are checked
LIMIT_ENV = {
    "max_unpacked_bytes": ("HUB_ARCHIVE_MAX_MB", MB),
    "max_members": ("HUB_ARCHIVE_MAX_FILES", 1),
    "max_ratio": ("HUB_ARCHIVE_MAX_RATIO", 1),
}

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
class ArchiveLimits:
    """How much one archive may unpack to; each limit can be raised with its environment variable."""

    max_unpacked_bytes: int = MAX_UNPACKED_MB * MB
    max_members: int = MAX_MEMBERS
    max_ratio: int = MAX_RATIO
    ratio_checked_above_bytes: int = RATIO_CHECKED_ABOVE_MB * MB

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ArchiveLimits:
        """The defaults, with ``HUB_ARCHIVE_MAX_MB``, ``_MAX_FILES`` and ``_MAX_RATIO`` where set."""
        env = os.environ if environ is None else environ
        given = {
            field: _positive(env[name], name) * unit
            for field, (name, unit) in LIMIT_ENV.items()
            if env.get(name)
        }
        return cls(**given)


def _positive(text: str, name: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise ConfigError(f"{name} must be a positive whole number, not {text!r}")
    return int(text)


@dataclass(frozen=True)
class _Member:
    """One archive entry, checked: its path parts under the target, and how to read it."""

    parts: tuple[str, ...]
    is_dir: bool
    executable: bool
    size: int  # bytes, as the archive declares; tarfile and zipfile never read past it
    handle: Any  # the TarInfo or ZipInfo


def safe_parts(name: str, archive: Path) -> tuple[str, ...]:
    """The path parts of a member name, or ArchiveError if it could point outside the target."""
    unsafe = name.startswith("/") or "\\" in name or (len(name) > 1 and name[1] == ":") or "\0" in name
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    if unsafe or ".." in parts:
        raise ArchiveError(f"{archive.name}: refusing member {name!r}: it points outside the module folder")
    return parts


def _tar_members(tar: tarfile.TarFile, archive: Path) -> Iterator[_Member]:
    for member in tar:  # one at a time: a million members are refused before all are read
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
            yield _Member(parts, member.isdir(), bool(member.mode & 0o111), member.size, member)


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
            yield _Member(parts, info.is_dir(), bool(mode & 0o111), info.file_size, info)


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


def extract(archive: Path, target: Path, limits: ArchiveLimits | None = None) -> None:
    """Unpack ``archive`` into the empty folder ``target``; check every member before writing any.

    ``limits``: default ``ArchiveLimits.from_env()``.
    """
    limits = limits or ArchiveLimits.from_env()
    target.mkdir(parents=True, exist_ok=True)
    try:
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as bundle:
                members = _within(_zip_members(bundle, archive), limits, archive)
                _extract_all(members, bundle.open, target, archive)
        else:
            with tarfile.open(archive, "r:*") as tar:
                members = _within(_tar_members(tar, archive), limits, archive)
                _extract_all(members, tar.extractfile, target, archive)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise ArchiveError(f"{archive}: not a readable .tar.gz or .zip archive ({error})") from None


def _within(members: Iterator[_Member], limits: ArchiveLimits, archive: Path) -> list[_Member]:
    """All members, or ArchiveError as soon as their count or their total size is over ``limits``."""
    checked: list[_Member] = []
    total_bytes = 0
    for member in members:
        checked.append(member)
        total_bytes += member.size
        if len(checked) > limits.max_members:
            what = f"holds more than {limits.max_members} files and folders"
            _refuse(archive, what, "HUB_ARCHIVE_MAX_FILES")
        if total_bytes > limits.max_unpacked_bytes:
            _refuse(
                archive, f"unpacks to more than {limits.max_unpacked_bytes / MB:g} MB", "HUB_ARCHIVE_MAX_MB"
            )
    _check_ratio(total_bytes, limits, archive)
    return checked


def _check_ratio(total_bytes: int, limits: ArchiveLimits, archive: Path) -> None:
    packed_bytes = archive.stat().st_size
    if total_bytes > max(limits.ratio_checked_above_bytes, packed_bytes * limits.max_ratio):
        sizes = f"{total_bytes / MB:.0f} MB from {packed_bytes / MB:.2f} MB"
        _refuse(
            archive, f"unpacks to {sizes}, over {limits.max_ratio} times its size", "HUB_ARCHIVE_MAX_RATIO"
        )


def _refuse(archive: Path, what: str, variable: str) -> NoReturn:
    raise ArchiveError(
        f"{archive.name} {what}: refusing to unpack it, nothing was written; "
        f"if you trust it, raise the limit with {variable}"
    )


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
