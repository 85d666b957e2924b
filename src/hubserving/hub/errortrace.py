"""A module's own traceback: the frames from its folder on, not hubserving's and importlib's."""

from __future__ import annotations

import traceback
from pathlib import Path


def own_traceback(error: BaseException, directory: Path) -> str:
    """The traceback of ``error`` starting at the first frame inside ``directory``.

    A syntax error has no such frame; its file, line and caret are still shown.
    """
    summary = traceback.TracebackException.from_exception(error)
    frames = list(summary.stack)
    root = directory.resolve()
    first = next((i for i, frame in enumerate(frames) if _inside(frame.filename, root)), len(frames))
    summary.stack = traceback.StackSummary.from_list(frames[first:])
    return "".join(summary.format()).rstrip()


def _inside(filename: str, root: Path) -> bool:
    try:
        return Path(filename).resolve().is_relative_to(root)
    except (OSError, ValueError):
        return False
