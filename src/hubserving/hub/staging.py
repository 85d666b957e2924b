"""A hidden scratch folder beside the installed modules: unpack and check there, then rename into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hubserving.errors import InstallError
from hubserving.paths import HubHome


@contextmanager
def staging(home: HubHome) -> Iterator[Path]:
    """``$HUB_HOME/modules/.staging-*``: on the same file system as the target, always removed after.

    Its name starts with a dot, so module discovery never sees a half-written module.
    """
    home.modules_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=home.modules_dir))
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def move_into_place(folder: Path, target: Path, stage: Path) -> bool:
    """Rename ``folder`` to ``target``; an existing ``target`` is moved into ``stage`` first.

    Returns whether something was replaced. If the final rename fails, the old folder is put back.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    replaced = target.exists()
    old = stage / ".replaced"
    if replaced:
        os.rename(target, old)
    try:
        os.rename(folder, target)
    except OSError as error:
        if replaced:
            os.rename(old, target)
        raise InstallError(f"cannot move the module into {target}: {error.strerror}") from None
    return replaced


def remove_folder(folder: Path, home: HubHome) -> None:
    """Remove an installed module folder: renamed out of sight first, so no one sees it half-deleted."""
    home.modules_dir.mkdir(parents=True, exist_ok=True)
    trash = Path(tempfile.mkdtemp(prefix=".removing-", dir=home.modules_dir))
    try:
        os.rename(folder, trash / "module")
    finally:
        shutil.rmtree(trash, ignore_errors=True)
    parent = folder.parent
    if parent.resolve() != home.modules_dir.resolve() and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
