"""Managing a running server's modules: rolling reload, load, unload. The one place it happens.

The HTTP management routes, SIGHUP and ``--reload``'s file watcher all call this. Modules are found
anew each time (a newly installed version, changed code, or a changed config entry is picked up).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hubserving.config import (
    ModuleConfig,
    ServerConfig,
    load_config_file,
    module_entry_from_text,
    module_from_entry,
)
from hubserving.errors import Code, HubServingError
from hubserving.module.finder import module_catalog
from hubserving.paths import HubHome
from hubserving.resolve import ResolvedModule, resolve_module
from hubserving.runtime.local import LocalPredictor

logger = logging.getLogger("hubserving.control")


class ControlError(HubServingError):
    """A management request that cannot be done; the message says why and what to do."""

    code = Code.INVALID_ARGUMENTS


@dataclass
class ServerControl:
    """What a running server serves, and the changes to it."""

    config: ServerConfig
    home: HubHome
    predictor: LocalPredictor
    modules: dict[str, ResolvedModule]
    on_event: Callable[[str, str], None] = lambda module, event: None  # (module, "reload"|"load"|"unload")
    reload_count: dict[str, int] = field(default_factory=dict)

    def _fresh_config(self, name: str) -> ModuleConfig:
        """The module's settings as they are now: from the config file again when there is one."""
        current = self.modules[name].config
        path = self.config.config_file
        if path is None:
            return current
        latest = load_config_file(path)
        return next((module for module in latest.modules if module.name == name), current)

    async def reload(self, names: Sequence[str] = ()) -> list[str]:
        """Reload ``names`` (every module when empty) one after another; raise ControlError for failures."""
        unknown = [name for name in names if name not in self.modules]
        if unknown:
            raise ControlError(f"not served: {', '.join(unknown)}; served: {', '.join(self.modules)}")
        failures = []
        done = []
        for name in names or list(self.modules):
            try:
                resolved = resolve_module(self._fresh_config(name), module_catalog(self.home), self.home)
                await self.predictor.reload(resolved.spec())
            except HubServingError as error:
                logger.error("%s: the reload failed: %s", name, error)
                failures.append(f"{name}: {error}")
                continue
            self.modules[name] = resolved
            self.on_event(name, "reload")
            logger.info("%s: reloaded as %s", name, resolved.label)
            done.append(name)
        if failures:
            raise ControlError("; ".join(failures) + (f" (reloaded: {', '.join(done)})" if done else ""))
        return done

    async def load(self, text: str, entry: Mapping[str, Any] | None = None) -> str:
        """Serve one more module, given as ``-m`` is (``NAME[==VERSION]`` or a folder) and a config entry."""
        name, parsed = module_entry_from_text(text)
        merged: dict[str, Any] = {**parsed, **(entry or {})}
        merged["init_args"] = {**parsed.get("init_args", {}), **dict((entry or {}).get("init_args") or {})}
        module = module_from_entry(name, merged)
        if name in self.modules:
            raise ControlError(f"{name} is served already; reload it instead (hub serving reload -m {name})")
        resolved = resolve_module(module, module_catalog(self.home), self.home)
        await self.predictor.load(resolved.plan(self.config))
        self.modules[name] = resolved
        self.on_event(name, "load")
        logger.info("%s: loaded (%s)", name, resolved.label)
        return name

    async def unload(self, name: str) -> None:
        if name not in self.modules:
            raise ControlError(f"{name} is not served; served: {', '.join(self.modules) or 'nothing'}")
        await self.predictor.unload(name)
        del self.modules[name]
        self.on_event(name, "unload")
        logger.info("%s: unloaded", name)

    def index(self) -> list[dict[str, Any]]:
        """The repository index, as the Open Inference Protocol's repository extension spells it."""
        served = self.predictor.module_names
        entries = []
        for name, resolved in self.modules.items():
            state = "READY" if name in served and self.predictor.pools[name].ready else "UNAVAILABLE"
            reason = "" if state == "READY" else "loading or replacing workers"
            version = resolved.source.info.version
            entries.append({"name": name, "version": version, "state": state, "reason": reason})
        return entries
