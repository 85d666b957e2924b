"""Where ``hub`` commands write: rich consoles for tables (stdout) and progress (stderr)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from rich.console import Console

Say = Callable[[str], None]


PIPED_WIDTH = 4096  # piped: as wide as the rows need, so each row stays on one line


def stdout_console() -> Console:
    """Tables and results; no markup or highlighting is read into module texts.

    Piped (not a terminal, no ``COLUMNS``), rows are never wrapped, so grep and awk see whole rows.
    """
    console = Console(highlight=False, markup=False, emoji=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, markup=False, emoji=False, width=PIPED_WIDTH)
    return console


def stderr_console() -> Console:
    """Progress bars and warnings, so stdout stays clean for pipes."""
    return Console(stderr=True, highlight=False, markup=False, emoji=False)


def say_stdout(message: str) -> None:
    print(message, flush=True)


def say_stderr(message: str) -> None:
    print(f"hubserving: {message}", file=sys.stderr, flush=True)
