"""Ray mode's settings: what config.json's "ray", "replicas" and "resources" keys become."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubserving.errors import ConfigError
from hubserving.ray.plan import plan_for
from hubserving.ray.settings import ModuleReplicas, ModuleResources, RaySettings
from hubserving.runtime.messages import ModuleSpec


@pytest.mark.parametrize("address", ["auto", "local", "ray://head:10001", "10.0.0.5:6379", "head-svc:6379"])
def test_addresses_users_give_are_accepted(address: str) -> None:
    assert RaySettings.from_json(address).address == address
    assert RaySettings.from_json({"address": address, "namespace": "prod"}).namespace == "prod"


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("head", "ray: 'head' is not a Ray address"),
        ("http://head:8265", "is not a Ray address"),
        ("head:70000", "is not a Ray address"),
        ({"address": "auto", "cluster": "x"}, "ray has unknown keys ['cluster']"),
        ({"namespace": "two words"}, "ray.namespace must be"),
        (3, 'ray must be an object like {"address": "auto"'),
    ],
)
def test_a_wrong_ray_setting_names_its_key(value: object, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("(", r"\(")):
        RaySettings.from_json(value)


def test_local_starts_a_private_cluster_and_applications_are_named_by_port() -> None:
    assert RaySettings.from_json("local").init_address is None
    settings = RaySettings.from_json({"address": "auto", "namespace": "team-a"})
    assert settings.init_address == "auto"
    assert settings.application(8866, "lac") == "team-a-8866-lac"


def test_a_number_of_replicas_is_fixed() -> None:
    replicas = ModuleReplicas.from_json(3, "modules_info.lac.replicas")
    assert not replicas.autoscaled
    assert replicas.deployment_options() == {"num_replicas": 3}
    assert replicas.describe() == "3 replicas"


def test_min_and_max_become_ray_serve_autoscaling() -> None:
    replicas = ModuleReplicas.from_json(
        {"min": 1, "max": 8, "target_ongoing_requests": 4, "upscale_delay_s": 1}, "modules_info.lac.replicas"
    )
    assert replicas.autoscaled
    assert replicas.deployment_options() == {
        "autoscaling_config": {
            "min_replicas": 1,
            "max_replicas": 8,
            "target_ongoing_requests": 4.0,
            "upscale_delay_s": 1.0,
        }
    }
    assert replicas.describe() == "1 to 8 replicas (autoscaled)"


@pytest.mark.parametrize(
    ("value", "named"),
    [
        (0, "modules_info.lac.replicas must be an integer from 1"),
        (True, "modules_info.lac.replicas must be an object"),
        ({"min": 1}, "modules_info.lac.replicas needs both min and max"),
        ({"min": 3, "max": 2}, r"modules_info.lac.replicas.max \(2\) must be at least"),
        ({"min": 0, "max": 2}, "modules_info.lac.replicas.min must be an integer from 1"),
        ({"min": 1, "max": 2, "target_ongoing_requests": 0}, "target_ongoing_requests must be a number"),
        ({"min": 1, "max": 2, "metrics_interval_s": 0}, "metrics_interval_s must be a number of seconds > 0"),
        ({"min": 1, "max": 2, "initial": 5}, "initial must lie between min and max"),
        ({"min": 1, "max": 2, "speed": 5}, r"has unknown keys \['speed'\]"),
    ],
)
def test_a_wrong_replicas_setting_names_its_key(value: object, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        ModuleReplicas.from_json(value, "modules_info.lac.replicas")


def test_resources_become_the_replica_actor_options() -> None:
    resources = ModuleResources.from_json(
        {"num_cpus": 2, "num_gpus": 0.5, "memory_mb": 2048}, "modules_info.lac.resources"
    )
    assert resources.actor_options() == {"num_cpus": 2.0, "num_gpus": 0.5, "memory": 2048 * 1024 * 1024}
    assert ModuleResources.from_json({}, "r").actor_options() == {"num_cpus": 1.0, "num_gpus": 0.0}


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ({"num_gpus": -1}, "modules_info.lac.resources.num_gpus must be a number of GPUs >= 0"),
        ({"memory_mb": 1.5}, "modules_info.lac.resources.memory_mb must be a positive whole number"),
        ({"gpus": 1}, r"modules_info.lac.resources has unknown keys \['gpus'\]"),
    ],
)
def test_a_wrong_resources_setting_names_its_key(value: object, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        ModuleResources.from_json(value, "modules_info.lac.resources")


def test_a_plan_defaults_to_the_workers_count_and_a_gpu_on_a_gpu_server(tmp_path: Path) -> None:
    spec = ModuleSpec("lac", tmp_path)
    cpu = plan_for(spec, None, None, workers=2, on_gpu=False)
    assert cpu.replicas.deployment_options() == {"num_replicas": 2}
    assert cpu.resources.actor_options() == {"num_cpus": 1.0, "num_gpus": 0.0} and not cpu.use_gpu
    gpu = plan_for(spec, None, None, workers=1, on_gpu=True)
    assert gpu.resources.num_gpus == 1.0 and gpu.use_gpu
    shared = plan_for(spec, None, ModuleResources(num_gpus=0.5), workers=1, on_gpu=False)
    assert shared.use_gpu  # a replica given part of a GPU builds its module with use_gpu
