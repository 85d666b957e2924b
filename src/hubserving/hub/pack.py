"""``hub pack <folder>``: a module archive with a manifest inside and a ``.sha256`` file beside it.

Archives are reproducible: entries sorted, times, owners and gzip header fixed, so packing the same
files twice gives the same sha256.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hubserving.errors import InstallError
from hubserving.hub.archive import sha256_file
from hubserving.hub.manifest import MANIFEST_FILE, Manifest
from hubserving.module.decorators import ModuleInfo
from hubserving.module.finder import MODULE_FILE, ModuleFileError, read_module_info
from hubserving.module.requirement import check_module_name, check_version

FORMATS = ("tar.gz", "zip")
_FIXED_MTIME = 315532800  # 1980-01-01, the earliest time a zip entry can hold

Entry = tuple[str, Path | bytes]  # a name in the archive, and the file or bytes it holds


@dataclass(frozen=True)
class Packed:
    """What ``hub pack`` made."""

    archive: Path
    sha256: str
    info: ModuleInfo
    file_count: int


def read_info(folder: Path) -> ModuleInfo:
    """A folder's module metadata with its name and version checked (they become file names).

    InstallError saying why it is not a module folder, or why its name or version cannot be used.
    """
    try:
        info = read_module_info(folder)
    except ModuleFileError as error:
        raise InstallError(str(error)) from None
    where = f"{folder / MODULE_FILE}: @moduleinfo"
    check_module_name(info.name, f"{where}(name=...)", InstallError)
    check_version(info.version, f"{where}(version=...)", InstallError)
    return info


def pack(folder: Path, output_dir: Path, archive_format: str = "tar.gz") -> Packed:
    """Write ``<output_dir>/<name>-<version>.<format>`` and its ``.sha256``; inside, one folder <name>/."""
    folder = folder.resolve()
    info = read_info(folder)
    manifest = Manifest.of_folder(folder, info)
    output_dir.mkdir(parents=True, exist_ok=True)
    archive = output_dir / f"{info.name}-{info.version}.{archive_format}"
    entries: list[Entry] = [(f"{info.name}/{relative}", folder / relative) for relative in manifest.files]
    entries.append((f"{info.name}/{MANIFEST_FILE}", manifest.to_json().encode()))
    writer = _write_zip if archive_format == "zip" else _write_tar
    _atomically(archive, lambda stream: writer(stream, entries))
    digest = sha256_file(archive)
    archive.with_name(archive.name + ".sha256").write_text(f"{digest}  {archive.name}\n", encoding="utf-8")
    return Packed(archive, digest, info, len(manifest.files) + 1)


def _content(source: Path | bytes) -> bytes:
    return source if isinstance(source, bytes) else source.read_bytes()


def _write_tar(stream: io.BufferedWriter, entries: list[Entry]) -> None:
    with (
        gzip.GzipFile(fileobj=stream, mode="wb", mtime=0, filename="") as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name, source in entries:
            data = _content(source)
            member = tarfile.TarInfo(name)
            member.size, member.mtime, member.mode = len(data), _FIXED_MTIME, _mode(source)
            tar.addfile(member, io.BytesIO(data))


def _write_zip(stream: io.BufferedWriter, entries: list[Entry]) -> None:
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, source in entries:
            member = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            member.external_attr = (0o100000 | _mode(source)) << 16
            member.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(member, _content(source))


def _mode(source: Path | bytes) -> int:
    return 0o755 if isinstance(source, Path) and os.access(source, os.X_OK) else 0o644


def _atomically(path: Path, write: Callable[[io.BufferedWriter], None]) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            write(stream)
        os.chmod(temporary, 0o644)  # mkstemp makes it 0600; an archive is meant to be shared
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
