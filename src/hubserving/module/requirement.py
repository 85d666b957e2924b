"""Module names and versions: the one rule for both, and ``Name`` or ``Name==Version`` as a user asks.

A module name becomes a folder name (``$HUB_HOME/modules/<name>/<version>/``), an archive name and a URL
path segment, so every place that reads one (``-m``, ``hub install``, ``hub pack``, an index, a module's
``@moduleinfo``) checks it here before using it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from packaging.version import InvalidVersion, Version

from hubserving.errors import ConfigError, HubServingError

MAX_NAME_CHARS = 100
MAX_VERSION_CHARS = 64
NAME_RULE = f"a letter, then letters, digits, _ . - (at most {MAX_NAME_CHARS} characters)"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*")

T = TypeVar("T")


@dataclass(frozen=True)
class Requirement:
    """A module name and, optionally, the exact version wanted."""

    name: str
    version: Version | None = None

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}=={self.version}"


def shown(text: str) -> str:
    """``text`` quoted on one line (newlines escaped), cut short when long."""
    return repr(text if len(text) <= 40 else text[:40] + "...")


def module_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a module name, or None when it can."""
    if name != name.strip():
        return "has spaces or line breaks around it"
    if len(name) > MAX_NAME_CHARS:
        return f"is {len(name)} characters long"
    if not name[:1].isascii() or not name[:1].isalpha():
        return f"starts with {name[:1]!r}, not a letter" if name else "is empty"
    if not _NAME.fullmatch(name):
        return "has characters other than letters, digits, _ . -"
    return None


def check_module_name(name: str, what: str, error: type[HubServingError] = ConfigError) -> str:
    """``name`` when it is a valid module name; else ``error`` saying ``what`` gave it and the rule."""
    problem = module_name_problem(name)
    if problem is not None:
        raise error(f"{what}: {shown(name)} cannot be a module name: it {problem}; use {NAME_RULE}")
    return name


def check_version(text: str, what: str, error: type[HubServingError] = ConfigError) -> Version:
    """A PEP 440 version written plainly (no surrounding spaces, at most 64 characters), or ``error``."""
    try:
        if text != text.strip() or len(text) > MAX_VERSION_CHARS:
            raise InvalidVersion(text)
        return Version(text)
    except InvalidVersion:
        raise error(f"{what}: {shown(text)} is not a version (expected something like 2.2.0)") from None


def parse_version(text: str, context: str) -> Version:
    """A PEP 440 version, or a ConfigError that says where the bad one came from."""
    return check_version(text, context)


def parse_requirement(text: str) -> Requirement:
    """Parse ``lac`` or ``lac==2.2.0`` (spaces around the whole text or around ``==`` are ignored)."""
    name, sep, version = text.strip().partition("==")
    name = name.strip()
    problem = module_name_problem(name)
    if problem is not None:
        raise ConfigError(
            f"{shown(text)} is not a module name: it {problem}; use Name or Name==Version "
            f"(e.g. lac or lac==2.2.0); a name is {NAME_RULE}"
        )
    if not sep:
        return Requirement(name)
    return Requirement(name, parse_version(version.strip(), f"module {name}"))


def looks_like_folder(text: str) -> bool:
    """``./model``, ``/srv/model``, ``~/model``, ``models/x``: a folder, not a module name."""
    return text.startswith((".", "/", "~")) or os.sep in text


def newest_matching(
    requirement: Requirement,
    candidates: Iterable[T],
    version_of: Callable[[T], Version],
    preference: Callable[[T], Any] = lambda candidate: 0,
) -> T | None:
    """The candidate with the newest version ``requirement`` accepts; None when none does.

    ``candidates`` are things named ``requirement.name``; among equal versions the highest
    ``preference`` wins (e.g. an installed copy over a built-in one).
    """
    matching = [c for c in candidates if requirement.version in (None, version_of(c))]
    return max(matching, key=lambda candidate: (version_of(candidate), preference(candidate)), default=None)
