"""``Name`` or ``Name==Version``: what a user asks for on the command line."""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from hubserving.errors import ConfigError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class Requirement:
    """A module name and, optionally, the exact version wanted."""

    name: str
    version: Version | None = None

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}=={self.version}"


def parse_version(text: str, context: str) -> Version:
    """A PEP 440 version, or a ConfigError that says where the bad one came from."""
    try:
        return Version(text)
    except InvalidVersion:
        raise ConfigError(f"{context}: {text!r} is not a version (expected something like 2.2.0)") from None


def parse_requirement(text: str) -> Requirement:
    """Parse ``lac`` or ``lac==2.2.0``."""
    name, sep, version = text.strip().partition("==")
    name = name.strip()
    if not _NAME.match(name):
        raise ConfigError(f"{text!r} is not a module name: use Name or Name==Version, e.g. lac or lac==2.2.0")
    if not sep:
        return Requirement(name)
    return Requirement(name, parse_version(version.strip(), f"module {name}"))
