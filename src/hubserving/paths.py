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
        """``conf/serving_<port>.json``: how ``stop`` and ``status`` find the server on ``port``."""
        return self.conf_dir / f"serving_{port}.json"

    def server_log(self, port: int) -> Path:
        """The front process's log."""
        return self.log_dir / f"serving_{port}.log"

    def worker_log(self, port: int, index: int) -> Path:
        """Worker ``index``'s log (each process writes its own file, so rotation stays safe)."""
        return self.log_dir / f"serving_{port}.worker{index}.log"

    def access_log(self, port: int) -> Path:
        """One line per request."""
        return self.log_dir / f"serving_{port}.access.log"

    def detached_output(self, port: int) -> Path:
        """A ``--detach``ed server's stdout: its start-up banner and what modules print."""
        return self.log_dir / f"serving_{port}.out"

    def detached_errors(self, port: int) -> Path:
        """A ``--detach``ed server's stderr: its log lines, warnings and start-up errors."""
        return self.log_dir / f"serving_{port}.err"
