"""Where hubserving keeps its files: ``$HUB_HOME`` (default ``~/.hubserving``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME_NAME = ".hubserving"


@dataclass(frozen=True)
class HubHome:
    """The folders under ``$HUB_HOME``."""

    root: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HubHome:
        env = os.environ if environ is None else environ
        configured = env.get("HUB_HOME")
        return cls(Path(configured).expanduser() if configured else Path.home() / DEFAULT_HOME_NAME)

    @property
    def conf_dir(self) -> Path:
        return self.root / "conf"

    @property
    def modules_dir(self) -> Path:
        return self.root / "modules"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    def pid_record(self, port: int) -> Path:
        return self.conf_dir / f"serving_{port}.json"
