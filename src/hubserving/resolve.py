"""Find each configured module's folder, before any worker starts: the modules a server will run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hubserving.config import ModuleConfig, ServerConfig
from hubserving.errors import ConfigError, ModuleNotFound
from hubserving.module.finder import Catalog, ModuleSource, read_init_parameters, source_from_directory
from hubserving.paths import HubHome
from hubserving.runtime.devices import plan_devices
from hubserving.runtime.local import ModulePlan
from hubserving.runtime.messages import ModuleSpec


@dataclass(frozen=True)
class ResolvedModule:
    """A configured module and the folder it was found in."""

    config: ModuleConfig
    source: ModuleSource

    @property
    def label(self) -> str:
        """How the banner names it: ``lac==2.2.0``, or the folder of an exported model."""
        if self.source.served_folder is not None:
            return f"{self.config.name} ({self.source.info.name} serving {self.source.served_folder})"
        return str(self.source)

    def spec(self) -> ModuleSpec:
        return ModuleSpec(
            name=self.config.name,
            directory=self.source.directory,
            init_args={**self.source.init_args, **self.config.init_args},
            predict_args=self.config.predict_args,
            batching=self.config.batching,
        )

    def plan(self, config: ServerConfig) -> ModulePlan:
        """How many workers it gets, and the card each sees."""
        cards = plan_devices(config.gpu, config.workers_per_gpu) if config.on_gpu(self.config) else ()
        return ModulePlan(self.spec(), config.workers_of(self.config), cards)

    def check_init_args(self) -> None:
        """Refuse init_args the module's constructor does not take, before any worker starts."""
        accepted = read_init_parameters(self.source.directory)
        if accepted is None or accepted[1]:
            return
        unknown = sorted(set(self.config.init_args) - accepted[0])
        if unknown:
            raise ConfigError(
                f"modules_info.{self.config.name}.init_args: {self.source.info.name} does not take "
                f"{', '.join(unknown)}; it takes: {', '.join(sorted(accepted[0])) or 'nothing'}"
            )


def resolve_module(module: ModuleConfig, catalog: Catalog, home: HubHome) -> ResolvedModule:
    """Find one configured module, or raise ModuleNotFound naming it and listing what exists.

    A missing module is installed into ``home`` (default ``$HUB_HOME``) from the configured module
    source when there is one (``HUB_MODULE_SOURCE``, or ``module_source`` in ``$HUB_HOME/config.json``).
    """
    if module.directory is not None:
        source = source_from_directory(module.directory)
    else:
        try:
            source = catalog.resolve(module.requirement)
        except ModuleNotFound as missing:
            from hubserving.hub.autoinstall import install_missing

            source = install_missing(module.requirement, home, missing)
    resolved = ResolvedModule(module, source)
    resolved.check_init_args()
    return resolved


def resolve_modules(config: ServerConfig, catalog: Catalog, home: HubHome) -> list[ResolvedModule]:
    """Every configured module, found; the first that cannot be found raises."""
    return [resolve_module(module, catalog, home) for module in config.modules]


def check_gpu_init_args(resolved: list[ResolvedModule], gpus: Callable[[], list[int]]) -> None:
    """``"use_gpu": true`` in init_args needs an NVIDIA GPU here: refuse it before any worker starts."""
    asking = [module.config.name for module in resolved if module.config.init_args.get("use_gpu") is True]
    if asking and not gpus():
        raise ConfigError(
            f"modules_info.{asking[0]}.init_args.use_gpu is true, but this machine has no NVIDIA GPU "
            '(nvidia-smi lists none); set "use_gpu": false to serve on the CPU'
        )
