"""How the finder serves a folder of exported model files with this module (no framework imported)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .detect import model_kind


def init_args_for(folder: Path) -> dict[str, Any] | None:
    """The ``init_args`` that serve ``folder``, or None when it holds no exported model."""
    return {"model_dir": str(folder)} if model_kind(folder) is not None else None
