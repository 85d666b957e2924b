"""Ray mode's configuration: where the cluster is, and each module's replicas and resources.

Plain frozen dataclasses validated once by ``from_json`` (every error names its key); nothing here
imports Ray. ``hubserving.config`` calls these for the ``"ray"`` key and each module's
``"replicas"`` and ``"resources"``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from hubserving.errors import ConfigError, shown_value

MAX_REPLICAS = 1024
NAMESPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
RAY_KEYS = ("address", "namespace")
TIMINGS = ("upscale_delay_s", "downscale_delay_s", "metrics_interval_s", "look_back_period_s")
AUTOSCALING_KEYS = ("min", "max", "initial", "target_ongoing_requests", *TIMINGS)
RESOURCE_KEYS = ("num_cpus", "num_gpus", "memory_mb")


def _object(value: object, key: str, allowed: tuple[str, ...], example: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be an object like {example}, not {shown_value(value)}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ConfigError(f"{key} has unknown keys {unknown}; allowed: {', '.join(allowed)}")
    return value


def _count(value: object, key: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_REPLICAS:
        raise ConfigError(
            f"{key} must be an integer from {minimum} to {MAX_REPLICAS}, not {shown_value(value)}"
        )
    return value


def _number(value: object, key: str, unit: str, allow_zero: bool = True) -> float:
    """A finite number >= 0 (> 0 unless ``allow_zero``)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not allow_zero)
    ):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{key} must be a number of {unit} {bound}, not {shown_value(value)}")
    return float(value)


def check_address(value: object, key: str) -> str:
    """``auto``, ``local``, ``ray://host:10001`` or ``host:6379``."""
    if not isinstance(value, str) or not value or any(ch.isspace() for ch in value):
        raise ConfigError(
            f'{key} must be a Ray address: "auto", "local", "ray://host:10001" or "host:6379"; '
            f"not {shown_value(value)}"
        )
    if value in ("auto", "local"):
        return value
    scheme, _, rest = value.rpartition("://")
    host, _, port = rest.rpartition(":")
    if scheme not in ("", "ray") or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(
            f"{key}: {value!r} is not a Ray address; use auto (a cluster on this machine, or RAY_ADDRESS), "
            "local (start one here), ray://host:10001 (Ray Client) or host:6379 (the head's GCS)"
        )
    return value


@dataclass(frozen=True)
class RaySettings:
    """Which Ray cluster serves the modules; ``namespace`` prefixes the Serve applications' names."""

    address: str = "auto"
    namespace: str = "hubserving"

    @classmethod
    def from_json(cls, value: object, key: str = "ray") -> RaySettings:
        """``"auto"`` (an address alone) or ``{"address": ..., "namespace": ...}``."""
        if isinstance(value, str):
            return cls(check_address(value, key))
        entry = _object(value, key, RAY_KEYS, '{"address": "auto", "namespace": "hubserving"}')
        address = check_address(entry.get("address", cls.address), f"{key}.address")
        namespace = entry.get("namespace", cls.namespace)
        if not isinstance(namespace, str) or not NAMESPACE.fullmatch(namespace):
            raise ConfigError(
                f"{key}.namespace must be letters, digits, '_', '.' or '-' (at most 63), "
                f"not {shown_value(namespace)}"
            )
        return cls(address, namespace)

    @property
    def init_address(self) -> str | None:
        """What ``ray.init`` is given: None starts a private local cluster (``local``)."""
        return None if self.address == "local" else self.address

    def application(self, port: int, module: str) -> str:
        """The Serve application that runs ``module`` for the server on ``port``."""
        return f"{self.namespace}-{port}-{module}"

    def applications_prefix(self, port: int) -> str:
        return f"{self.namespace}-{port}-"


@dataclass(frozen=True)
class ModuleReplicas:
    """A fixed number of replicas (``count``), or Ray Serve autoscaling from ``minimum`` to ``maximum``."""

    count: int | None = 1
    minimum: int = 1
    maximum: int = 1
    initial: int | None = None
    target_ongoing_requests: float = 2.0  # Ray Serve's default
    # None: Ray Serve's defaults (30 s up, 600 s down, metrics every 10 s averaged over 30 s)
    upscale_delay_s: float | None = None
    downscale_delay_s: float | None = None
    metrics_interval_s: float | None = None
    look_back_period_s: float | None = None

    @classmethod
    def fixed(cls, count: int) -> ModuleReplicas:
        return cls(count, count, count)

    @classmethod
    def from_json(cls, value: object, key: str) -> ModuleReplicas:
        """``N``, or ``{"min": 1, "max": 8, "target_ongoing_requests": 4}`` (and optional delays)."""
        if isinstance(value, int) and not isinstance(value, bool):
            return cls.fixed(_count(value, key))
        example = '{"min": 1, "max": 8, "target_ongoing_requests": 4} or a number'
        entry = _object(value, key, AUTOSCALING_KEYS, example)
        if "min" not in entry or "max" not in entry:
            raise ConfigError(f"{key} needs both min and max, like {example}")
        minimum = _count(entry["min"], f"{key}.min")
        maximum = _count(entry["max"], f"{key}.max")
        if maximum < minimum:
            raise ConfigError(f"{key}.max ({maximum}) must be at least {key}.min ({minimum})")
        initial = entry.get("initial")
        if initial is not None and not minimum <= _count(initial, f"{key}.initial") <= maximum:
            raise ConfigError(f"{key}.initial must lie between min and max, not {initial}")
        target = _number(
            entry.get("target_ongoing_requests", 2), f"{key}.target_ongoing_requests", "requests", False
        )
        timings = {
            name: _number(entry[name], f"{key}.{name}", "seconds", name.startswith(("up", "down")))
            for name in TIMINGS
            if name in entry
        }
        return cls(None, minimum, maximum, initial, target, **timings)

    @property
    def autoscaled(self) -> bool:
        return self.count is None

    def deployment_options(self) -> dict[str, Any]:
        """The ``serve.deployment`` options: ``num_replicas``, or an ``autoscaling_config``."""
        if self.count is not None:
            return {"num_replicas": self.count}
        autoscaling: dict[str, Any] = {
            "min_replicas": self.minimum,
            "max_replicas": self.maximum,
            "target_ongoing_requests": self.target_ongoing_requests,
        }
        optional = {"initial_replicas": self.initial, **{name: getattr(self, name) for name in TIMINGS}}
        autoscaling.update({name: value for name, value in optional.items() if value is not None})
        return {"autoscaling_config": autoscaling}

    def describe(self) -> str:
        if self.count is not None:
            return f"{self.count} replica{'s' if self.count != 1 else ''}"
        return f"{self.minimum} to {self.maximum} replicas (autoscaled)"


@dataclass(frozen=True)
class ModuleResources:
    """What one replica reserves on its node: Ray places it where these are free."""

    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory_mb: int | None = None

    @classmethod
    def from_json(cls, value: object, key: str) -> ModuleResources:
        """``{"num_cpus": 1, "num_gpus": 0.5, "memory_mb": 2048}``; each key optional."""
        entry = _object(value, key, RESOURCE_KEYS, '{"num_cpus": 1, "num_gpus": 0.5, "memory_mb": 2048}')
        num_cpus = _number(entry.get("num_cpus", cls.num_cpus), f"{key}.num_cpus", "CPUs")
        num_gpus = _number(entry.get("num_gpus", cls.num_gpus), f"{key}.num_gpus", "GPUs")
        memory_mb = entry.get("memory_mb")
        if memory_mb is not None and (
            isinstance(memory_mb, bool) or not isinstance(memory_mb, int) or memory_mb < 1
        ):
            raise ConfigError(
                f"{key}.memory_mb must be a positive whole number of MB, not {shown_value(memory_mb)}"
            )
        return cls(num_cpus, num_gpus, memory_mb)

    def actor_options(self) -> dict[str, Any]:
        """The replica actor's ``ray_actor_options``."""
        options: dict[str, Any] = {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus}
        if self.memory_mb is not None:
            options["memory"] = self.memory_mb * 1024 * 1024
        return options
