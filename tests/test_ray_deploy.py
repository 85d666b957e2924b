"""The Kubernetes path, as far as these machines allow: no image is built and no cluster runs here.

The core manifests are validated against Kubernetes' own schemas (``kubernetes-validate``); the
RayService is parsed and its Serve application built from its own import path and args; the install
script the Dockerfile runs is run with ``--dry-run`` and its steps checked.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
KUBERNETES = ROOT / "deploy" / "kubernetes"
STANDALONE = KUBERNETES / "standalone"
KUBERNETES_VERSION = "1.33"
GRACEFUL_STOP_S = 30  # server.GRACEFUL_SHUTDOWN_S: how long a stopping server drains


def documents(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text(encoding="utf-8")) if document]


def standalone() -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for path in sorted(STANDALONE.glob("*.yaml")) for doc in documents(path)}


@pytest.mark.parametrize("path", sorted(STANDALONE.glob("*.yaml")), ids=lambda path: path.name)
def test_standalone_manifests_are_valid_kubernetes(path: Path) -> None:
    for document in documents(path):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_standalone_server_has_what_a_production_deployment_needs() -> None:
    kinds = standalone()
    expected = {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap"}
    assert set(kinds) >= expected
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    server = pod["containers"][0]
    assert server["livenessProbe"]["httpGet"]["path"] == "/health"
    assert server["readinessProbe"]["httpGet"]["path"] == "/ready"
    pause = server["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["terminationGracePeriodSeconds"] >= GRACEFUL_STOP_S + pause + 10  # drain, then stop workers
    assert server["args"][:3] == ["hub", "serving", "start"]
    install = pod["initContainers"][0]["command"]
    assert install[:2] == ["hub", "install"] and "--source" in install
    labels = kinds["Deployment"]["spec"]["selector"]["matchLabels"]
    assert kinds["Service"]["spec"]["selector"] == labels
    assert kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == labels
    target = kinds["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"]
    assert target == kinds["Deployment"]["metadata"]["name"]


def test_the_configmap_holds_a_config_the_server_accepts() -> None:
    from hubserving.config import config_from_json

    text = standalone()["ConfigMap"]["data"]["config.json"]
    config = config_from_json(yaml.safe_load(text))
    assert [module.name for module in config.modules] == ["lac"] and config.port == 8866


def rayservice_application() -> dict[str, Any]:
    (service,) = documents(KUBERNETES / "rayservice.yaml")
    assert (service["apiVersion"], service["kind"]) == ("ray.io/v1", "RayService")
    (application,) = yaml.safe_load(service["spec"]["serveConfigV2"])["applications"]
    application["rayVersion"] = service["spec"]["rayClusterConfig"]["rayVersion"]
    return dict(application)


def test_the_rayservice_builds_the_hubserving_application(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ray
    from ray.serve.deployment import Application

    application = rayservice_application()
    assert application["rayVersion"] == ray.__version__  # the image's Ray is the cluster's
    module_name, _, function = application["import_path"].partition(":")
    build = getattr(importlib.import_module(module_name), function)
    monkeypatch.setenv("HUB_HOME", str(tmp_path))
    built = build(application["args"])
    assert isinstance(built, Application)
    ingress = built._bound_deployment
    assert ingress.name == "hubserving"
    (modules,) = [arg for arg in ingress.init_args if isinstance(arg, dict) and "lac" in arg]
    lac = modules["lac"]._bound_deployment
    assert lac.name == "lac"
    assert lac.ray_actor_options["num_cpus"] == 1.0 and lac.ray_actor_options["memory"] == 1024 * 1024 * 1024
    assert lac._deployment_config.autoscaling_config.max_replicas == 8


def test_install_script_steps(tmp_path: Path) -> None:
    """Its steps, as the Dockerfile runs it (dry run: a real install takes minutes and a registry)."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"RUN .*deploy/install\.sh --venv /opt/hubserving/venv", dockerfile, re.S)
    venv = tmp_path / "venv"
    result = subprocess.run(
        ["bash", str(ROOT / "deploy" / "install.sh"), "--dry-run", "--venv", str(venv), "--extras", "lac,ray",
         "--modules", "my_classifier==1.0.0", "--source", "https://modules.example.com/index.json"],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    steps = [line.removeprefix("+ ") for line in result.stdout.splitlines()]
    assert steps[0] == f"python3 -m venv {venv}"
    assert f"PIP_BUILD_CONSTRAINT={ROOT}/build-constraints.txt" in steps[2]
    assert steps[2].endswith(f"install --no-cache-dir -q {ROOT}\\[lac\\,ray\\]")
    assert steps[3] == (
        f"{venv}/bin/hub install --yes --source https://modules.example.com/index.json my_classifier==1.0.0"
    )
    assert steps[4] == f"{venv}/bin/hub list"


def test_install_script_names_only_extras_and_files_that_exist() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = set(project["optional-dependencies"])
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    (default_extras,) = re.findall(r"ARG EXTRAS=(\S+)", dockerfile)
    assert set(default_extras.split(",")) <= extras
    for copied in re.findall(r"^COPY (.+) \S+$", dockerfile, re.M):
        for name in copied.split():
            assert (ROOT / name).exists(), name
    assert subprocess.run(["bash", "-n", str(ROOT / "deploy" / "install.sh")], check=False).returncode == 0
