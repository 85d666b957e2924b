"""A module's own ``requirements.txt``: which packages are missing, and installing them with consent."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from hubserving.errors import MissingRequirements
from hubserving.hub.console import Say

REQUIREMENTS_FILE = "requirements.txt"

Consent = Callable[[str], bool]
PipRunner = Callable[[list[str]], int]


def unmet(path: Path) -> list[str]:
    """The lines of a requirements file that the running Python does not satisfy.

    Option lines (``-r``, ``--index-url``) are left to pip; a line that is not a plain requirement
    (a URL, a local path) counts as unmet, since it cannot be checked without pip.
    """
    missing: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            missing.append(line)
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        problem = _problem(requirement)
        if problem is not None:
            missing.append(line + problem)
    return missing


def _problem(requirement: Requirement) -> str | None:
    try:
        installed = importlib.metadata.version(requirement.name)
    except importlib.metadata.PackageNotFoundError:
        return ""
    if requirement.specifier and not requirement.specifier.contains(installed, prereleases=True):
        return f" (installed: {installed})"
    return None


def ask_on_terminal(question: str) -> bool:
    """Ask on the terminal; no terminal means no."""
    if not sys.stdin.isatty():
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def always(question: str) -> bool:
    return True


def never(question: str) -> bool:
    return False


def run_pip(command: list[str]) -> int:
    return subprocess.run(command, check=False).returncode


def ensure_requirements(
    folder: Path, label: str, consent: Consent, say: Say, pip: PipRunner = run_pip
) -> None:
    """Install what ``folder/requirements.txt`` lists and is missing, if allowed; else MissingRequirements."""
    path = folder / REQUIREMENTS_FILE
    if not path.is_file():
        return
    missing = unmet(path)
    if not missing:
        return
    listed = ", ".join(missing)
    say(f"{label} needs Python packages that are not installed: {listed}")
    command = [sys.executable, "-m", "pip", "install", "-r", str(path)]
    if not consent(f"Install them now with `{sys.executable} -m pip install -r {REQUIREMENTS_FILE}`?"):
        raise MissingRequirements(
            f"{label} needs Python packages that are not installed: {listed}. Nothing was installed: "
            "install again with --yes to let pip install them, or install them yourself first"
        )
    code = pip(command)
    if code != 0:
        raise MissingRequirements(
            f"pip could not install the requirements of {label} (exit code {code}; its output is above): "
            f"{listed}. Nothing was installed"
        )
