"""``hub install``: a module folder, an archive, or ``name[==version]`` from a module index.

Whatever the origin, the module is put together in a staging folder, checked (manifest, checksum,
name, requirements), and only then renamed to ``$HUB_HOME/modules/<name>/<version>/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from hubserving.errors import ArchiveError, ChecksumMismatch, ConfigError, InstallError, ModuleNotFound
from hubserving.hub.archive import ArchiveLimits, extract, is_archive_name, module_root, sha256_file
from hubserving.hub.console import Say, say_stdout
from hubserving.hub.download import fetch
from hubserving.hub.index import IndexEntry, pick
from hubserving.hub.inuse import refuse_if_in_use
from hubserving.hub.manifest import module_files, verify_manifest
from hubserving.hub.pack import read_info
from hubserving.hub.requirements import Consent, always, ask_on_terminal, ensure_requirements
from hubserving.hub.sources import (
    CONFIG_FILE,
    CONFIG_KEY,
    SOURCE_ENV,
    configured_source,
    load_index,
    source_from_text,
)
from hubserving.hub.staging import move_into_place, staging
from hubserving.module.finder import ModuleSource, module_catalog
from hubserving.module.requirement import Requirement, looks_like_folder, parse_requirement, shown
from hubserving.paths import HubHome


@dataclass(frozen=True)
class InstallOptions:
    """How to install: where, from which index, and whether to reinstall or install requirements."""

    home: HubHome
    source: str | None = None  # index URL or folder; None: the configured default
    force: bool = False  # reinstall an installed version; replace one in use
    consent: Consent = ask_on_terminal  # may pip install a module's requirements.txt?
    say: Say = say_stdout
    archive_limits: ArchiveLimits | None = None  # None: the defaults, or $HUB_ARCHIVE_MAX_* where set

    @classmethod
    def from_flags(cls, home: HubHome, source: str | None, force: bool, yes: bool) -> InstallOptions:
        return cls(home, source, force, always if yes else ask_on_terminal)


def install_all(targets: Sequence[str], options: InstallOptions) -> int:
    for target in targets:
        install(target, options)
    return 0


def install(target: str, options: InstallOptions) -> ModuleSource:
    """Install one folder, archive or ``name[==version]``.

    A bare word is a name even if a folder of that name is here: write ``./x`` for the folder.
    """
    if not (looks_like_folder(target) or is_archive_name(target)):
        return install_by_name(_requirement(target), options)
    path = Path(target).expanduser()
    if _probe(path.is_dir, target):
        return install_folder(path, options)
    if _probe(path.is_file, target) and is_archive_name(path.name):
        return install_archive(path, options)
    if _probe(path.exists, target):
        raise InstallError(f"{target} is neither a module folder nor a .tar.gz, .tgz or .zip archive")
    raise InstallError(f"{target} does not exist")


def _probe(check: Callable[[], bool], target: str) -> bool:
    """``check()``; a path the system cannot look at (e.g. a name too long) is an InstallError."""
    try:
        return check()
    except OSError as error:
        raise InstallError(f"cannot read {shown(target)}: {error.strerror}") from None


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def _requirement(target: str) -> Requirement:
    try:
        return parse_requirement(target)
    except ConfigError:
        if _exists(Path(target)):
            raise ConfigError(
                f"{target!r} is not a module name; for the folder or file, write ./{target}"
            ) from None
        raise


def install_folder(folder: Path, options: InstallOptions) -> ModuleSource:
    """Copy a module folder (without caches and hidden files) and install the copy.

    The name and version are checked (``read_info``) before anything is written.
    """
    info = read_info(folder)
    with staging(options.home) as stage:
        copy = stage / "module"
        for relative in module_files(folder, info):
            (copy / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / relative, copy / relative)
        return _commit(copy, stage, options, str(folder))


def install_archive(
    archive: Path, options: InstallOptions, expected: IndexEntry | None = None
) -> ModuleSource:
    """Unpack an archive safely and install it; a ``<archive>.sha256`` beside it is checked first."""
    _check_sibling_checksum(archive)
    with staging(options.home) as stage:
        extract(archive, stage / "unpacked", options.archive_limits)
        return _commit(module_root(stage / "unpacked", archive), stage, options, archive.name, expected)


def _check_sibling_checksum(archive: Path) -> None:
    checksum_file = archive.with_name(archive.name + ".sha256")
    if not checksum_file.is_file():
        return
    words = checksum_file.read_text(encoding="utf-8").split()
    expected = words[0].lower() if words else ""
    actual = sha256_file(archive)
    if actual != expected:
        raise ChecksumMismatch(
            f"{archive.name} has sha256 {actual}, but {checksum_file.name} says {expected}: "
            "the archive is damaged or was changed after packing; nothing was installed"
        )


def install_by_name(requirement: Requirement, options: InstallOptions) -> ModuleSource:
    """Skip an installed module (unless ``force``); else fetch the newest match from the module index."""
    if not options.force:
        try:
            found = module_catalog(options.home).resolve(requirement)
        except ModuleNotFound:
            pass
        else:
            options.say(
                f"Module {found.info.name}-{found.info.version} already installed in {found.directory}"
            )
            return found
    source = source_from_text(_source_text(requirement, options))
    entry = pick(load_index(source), requirement, str(source))
    location = source.locate(entry.url)
    options.say(f"Installing {entry} from {location}")
    with staging(options.home) as stage:
        name = Path(urlparse(entry.url).path).name
        download = stage / (name if is_archive_name(name) else f"{entry}.tar.gz")
        fetch(location, download, str(entry), entry.sha256)
        return install_archive(download, options, entry)


def _source_text(requirement: Requirement, options: InstallOptions) -> str:
    text = options.source or configured_source(options.home)
    if text is None:
        raise ModuleNotFound(
            f"Module {requirement} is not installed, and there is no module index to install it from: "
            f'give --source <URL or folder>, set {SOURCE_ENV}, or set "{CONFIG_KEY}" in '
            f"{options.home.root / CONFIG_FILE}"
        )
    return text


def _commit(
    root: Path, stage: Path, options: InstallOptions, label: str, expected: IndexEntry | None = None
) -> ModuleSource:
    info = read_info(root)
    if expected is not None and (info.name, info.version) != (expected.info.name, expected.info.version):
        raise ArchiveError(f"{label} holds {info.name}-{info.version}, but the index says {expected}")
    verify_manifest(root, info, label)
    target = options.home.modules_dir / info.name / info.version
    if target.exists():
        refuse_if_in_use(options.home, f"{info.name}=={info.version}", options.force)
    ensure_requirements(root, f"{info.name}-{info.version}", options.consent, options.say)
    if move_into_place(root, target, stage):
        options.say(f"Replaced the installed {info.name}-{info.version} in {target}")
    options.say(f"Successfully installed {info.name}-{info.version}")
    return ModuleSource(info, target)
