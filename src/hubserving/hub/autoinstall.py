"""``hub serving start -m name==version`` with the module missing: install it from the default source."""

from __future__ import annotations

from hubserving.errors import ModuleNotFound
from hubserving.hub.console import say_stderr
from hubserving.hub.install import InstallOptions, install_by_name
from hubserving.hub.requirements import never
from hubserving.hub.sources import configured_source
from hubserving.module.finder import ModuleSource
from hubserving.module.requirement import Requirement
from hubserving.paths import HubHome


def install_missing(requirement: Requirement, home: HubHome, missing: ModuleNotFound) -> ModuleSource:
    """Install ``requirement`` from the configured module source, saying so; re-raise ``missing`` if none.

    Requirements are never pip-installed here (no one to ask): a module that needs some fails with
    the command to run.
    """
    source = configured_source(home)
    if source is None:
        raise missing
    say_stderr(
        f"Module {requirement} is not installed; installing it from the default module source {source}"
    )
    return install_by_name(requirement, InstallOptions(home, source, consent=never, say=say_stderr))
