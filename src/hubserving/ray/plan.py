"""One module to run on Ray: what its replicas load, how many there are, what each reserves."""

from __future__ import annotations

from dataclasses import dataclass, field

from hubserving.ray.settings import ModuleReplicas, ModuleResources
from hubserving.runtime.messages import ModuleSpec


@dataclass(frozen=True)
class RayModulePlan:
    """A module's Serve deployment: its spec (as a local worker gets it), replicas and resources."""

    spec: ModuleSpec
    replicas: ModuleReplicas = field(default_factory=ModuleReplicas)
    resources: ModuleResources = field(default_factory=ModuleResources)
    use_gpu: bool = False  # the module is built with use_gpu (its replicas reserve num_gpus)

    @property
    def name(self) -> str:
        return self.spec.name


def plan_for(
    spec: ModuleSpec,
    replicas: ModuleReplicas | None,
    resources: ModuleResources | None,
    workers: int,
    on_gpu: bool,
) -> RayModulePlan:
    """A module's plan from its config: ``workers`` fixed replicas unless ``replicas`` says; one CPU
    each, and one GPU each on a GPU server, unless ``resources`` says."""
    chosen = resources or ModuleResources(num_gpus=1.0 if on_gpu else 0.0)
    return RayModulePlan(spec, replicas or ModuleReplicas.fixed(workers), chosen, use_gpu=chosen.num_gpus > 0)
