"""``hub uninstall name[==version]``: remove installed versions, never one a running server serves."""

from __future__ import annotations

from pathlib import Path

from hubserving.errors import InstallError
from hubserving.hub.console import Say, say_stdout
from hubserving.hub.inuse import refuse_if_in_use
from hubserving.hub.staging import remove_folder
from hubserving.module.finder import ModuleSource, module_catalog
from hubserving.module.requirement import Requirement, parse_requirement
from hubserving.paths import HubHome


def uninstall(text: str, home: HubHome, force: bool = False, say: Say = say_stdout) -> list[ModuleSource]:
    """Remove every installed version matching ``text`` (all versions when none is given)."""
    requirement = parse_requirement(text)
    sources = module_catalog(home).sources
    named = [source for source in sources if source.info.name == requirement.name]
    chosen = [source for source in named if requirement.version in (None, source.version)]
    modules_dir = home.modules_dir.resolve()
    removable = [source for source in chosen if source.directory.resolve().is_relative_to(modules_dir)]
    if not removable:
        raise InstallError(_why_not_installed(requirement, named, chosen))
    for source in removable:
        _refuse_nested(source, [other for other in sources if other not in removable])
        refuse_if_in_use(home, str(source), force)
    for source in removable:
        remove_folder(source.directory, home)
        say(f"Successfully uninstalled {source.info.name}-{source.info.version}")
    return removable


def _why_not_installed(
    requirement: Requirement, named: list[ModuleSource], chosen: list[ModuleSource]
) -> str:
    if any(source.builtin for source in chosen):
        return f"{requirement.name} is a built-in module of hubserving: it cannot be uninstalled"
    packages = sorted({source.package for source in chosen if source.package})
    if packages:
        return (
            f"{requirement.name} comes from the Python package {', '.join(packages)}: "
            f"uninstall it with `python -m pip uninstall {packages[0]}`"
        )
    if named:
        versions = ", ".join(sorted({source.info.version for source in named}))
        return f"{requirement} is not installed; installed versions of {requirement.name}: {versions}"
    return f"{requirement.name} is not installed"


def _refuse_nested(source: ModuleSource, others: list[ModuleSource]) -> None:
    """An old flat ``modules/<name>/module.py`` may hold version folders of its own: keep those."""
    inside = [other for other in others if Path(other.directory).is_relative_to(source.directory)]
    if inside:
        raise InstallError(
            f"{source.directory} also holds {', '.join(str(other) for other in inside)}: "
            "uninstall those versions first, or give name==version"
        )
