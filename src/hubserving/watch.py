"""``--reload``: watch the served modules' folders and reload a module (rolling) when its files change."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from hubserving.control import ServerControl
from hubserving.errors import HubServingError

logger = logging.getLogger("hubserving.watch")

WATCHED_SUFFIXES = (".py", ".json", ".txt", ".yaml", ".yml")


def module_of(path: Path, folders: dict[str, Path]) -> str | None:
    """The served module whose folder holds ``path``."""
    for name, folder in folders.items():
        if path.is_relative_to(folder):
            return name
    return None


async def watch_modules(control: ServerControl, stop: asyncio.Event) -> None:
    """Reload each module whose folder changes, until ``stop`` is set."""
    from watchfiles import awatch

    folders = {name: resolved.source.directory.resolve() for name, resolved in control.modules.items()}
    logger.info("--reload: watching %s", ", ".join(str(folder) for folder in folders.values()))
    async for changes in awatch(*folders.values(), stop_event=stop):
        changed = {module_of(Path(path), folders) for _, path in changes if path.endswith(WATCHED_SUFFIXES)}
        for name in sorted(name for name in changed if name is not None):
            try:
                await control.reload([name])
            except HubServingError as error:
                logger.error("--reload: %s; the running workers go on serving", error)
