"""The server's configuration: one validated, frozen object built from the CLI or from config.json.

Defaults live here and nowhere else.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubserving.errors import ConfigError
from hubserving.module.requirement import Requirement, parse_requirement, parse_version

DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 8866
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024

DEFAULT_QUEUE_SIZE = 512
LOG_FORMATS = ("text", "json")

SERVER_KEYS = {
    "modules_info",
    "port",
    "host",
    "use_multiprocess",
    "workers",
    "use_gpu",
    "gpu",
    "timeout",
    "queue_size",
    "api_key",
    "cors",
    "log_format",
    "max_body_mb",
    "access_log",
}
MODULE_KEYS = {"init_args", "predict_args", "batching"}


def default_workers() -> int:
    """The reference's documented default: ``2 * cpu_count - 1``."""
    return max(1, 2 * (os.cpu_count() or 1) - 1)


@dataclass(frozen=True)
class BatchingConfig:
    """How one module batches concurrent requests (used when its serving method allows it)."""

    enabled: bool = True
    max_batch_size: int | None = None  # None: the module's own default
    max_wait_ms: float = 0.0


@dataclass(frozen=True)
class ModuleConfig:
    """One module to serve: how to find it, how to build it, its default arguments."""

    name: str
    requirement: Requirement
    directory: Path | None = None
    init_args: Mapping[str, Any] = field(default_factory=dict)
    predict_args: Mapping[str, Any] = field(default_factory=dict)
    batching: BatchingConfig = field(default_factory=BatchingConfig)


@dataclass(frozen=True)
class ServerConfig:
    """Everything ``hub serving start`` needs."""

    modules: tuple[ModuleConfig, ...]
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    use_multiprocess: bool = False
    workers: int = field(default_factory=default_workers)
    use_gpu: bool = False
    gpu: tuple[int, ...] = (0,)
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    queue_size: int = DEFAULT_QUEUE_SIZE  # requests waiting or running, per module; beyond: 503
    api_key: str | None = None
    cors_origins: tuple[str, ...] = ()
    log_format: str = "text"
    access_log: bool = True

    @property
    def worker_count(self) -> int:
        """How many model worker processes run: one per card on GPU, ``workers`` in multiprocess."""
        if self.use_gpu:
            return len(self.gpu)
        return self.workers if self.use_multiprocess else 1

    @property
    def mode(self) -> str:
        if self.use_gpu:
            return f"GPU, cards {','.join(map(str, self.gpu))}, one worker per card"
        if self.use_multiprocess:
            return f"multiprocess, {self.workers} workers"
        return "single process"


def parse_gpu(value: object, key: str = "gpu") -> tuple[int, ...]:
    """``"0,1"``, ``[0, 1]`` or ``0`` as a tuple of card indices."""
    items: Sequence[object]
    if isinstance(value, bool):
        raise ConfigError(f'{key} must be card numbers like "0,1", not {value!r}')
    if isinstance(value, int):
        items = [value]
    elif isinstance(value, str):
        items = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list):
        items = value
    else:
        raise ConfigError(f'{key} must be card numbers like "0,1", not {value!r}')
    cards: list[int] = []
    for item in items:
        text = str(item)
        if isinstance(item, bool) or not text.isdigit():
            raise ConfigError(f'{key}: {item!r} is not a card number; use non-negative integers like "0,1"')
        cards.append(int(text))
    if not cards or len(set(cards)) != len(cards):
        raise ConfigError(f'{key} must list each card once, like "0,1"; got {value!r}')
    return tuple(cards)


def check_port(port: object, key: str = "port") -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(f"{key} must be an integer between 1 and 65535, not {port!r}")
    return port


def check_workers(workers: object, key: str = "workers") -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"{key} must be a positive integer, not {workers!r}")
    return workers


def check_timeout(timeout: object, key: str = "timeout") -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"{key} must be a positive number of seconds, not {timeout!r}")
    return float(timeout)


def check_log_format(value: object, key: str = "log_format") -> str:
    if value not in LOG_FORMATS:
        raise ConfigError(f"{key} must be one of {', '.join(LOG_FORMATS)}, not {value!r}")
    return str(value)


def parse_cors(value: object, key: str = "cors") -> tuple[str, ...]:
    """``"*"``, ``"https://a.example,https://b.example"`` or a list of origins."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ConfigError(f'{key} must be origins like "https://app.example.com" or "*", not {value!r}')
    origins = tuple(item.strip().rstrip("/") for item in items if item.strip())
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ConfigError(f"{key}: {origin!r} is not an origin; use scheme://host[:port] or *")
    return origins


def check_api_key(value: object, key: str = "api_key") -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) < 8 or any(ch.isspace() for ch in value):
        raise ConfigError(f"{key} must be a string of at least 8 characters without spaces")
    return value


def check_modules(modules: Sequence[ModuleConfig]) -> tuple[ModuleConfig, ...]:
    if not modules:
        raise ConfigError(
            "nothing to serve: give modules with -m lac [other==1.0.0 ...] or a config file with -c"
        )
    names = [module.name for module in modules]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"module {', '.join(duplicates)} is listed twice; serve each name once")
    return tuple(modules)


def is_folder_text(text: str) -> bool:
    """``./model``, ``/srv/model``, ``~/model``: a folder, not a module name."""
    return text.startswith((".", "/", "~")) or os.sep in text


def module_from_text(text: str, name: str | None = None) -> ModuleConfig:
    """``lac``, ``lac==2.2.0``, or a folder (named after itself, or ``name``)."""
    if not is_folder_text(text):
        requirement = parse_requirement(text)
        return ModuleConfig(requirement.name, requirement)
    folder = Path(text).expanduser()
    chosen = name or folder.resolve().name
    try:
        requirement = parse_requirement(chosen)
    except ConfigError:
        raise ConfigError(
            f"the folder name {chosen!r} cannot be a module name in a URL; give one with --name"
        ) from None
    return ModuleConfig(requirement.name, Requirement(requirement.name), directory=folder)


def modules_from_requirements(texts: Sequence[str], name: str | None = None) -> tuple[ModuleConfig, ...]:
    """``-m lac senta_bilstm==1.2.0 ./exported_model`` as module configs; ``name`` names the one folder."""
    folders = [text for text in texts if is_folder_text(text)]
    if name is not None and len(folders) != 1:
        raise ConfigError("--name names a served folder: use it with exactly one folder in -m")
    return check_modules([module_from_text(text, name if text in folders else None) for text in texts])


def _expect_type(value: object, kind: type | tuple[type, ...], key: str, what: str) -> None:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{key} must be {what}, not {json.dumps(value, ensure_ascii=False)}")


def _flag(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    _expect_type(value, bool, key, "true or false")
    return bool(value)


def _batching_from_json(value: object, key: str) -> BatchingConfig:
    if value is False:
        return BatchingConfig(enabled=False)
    if value is True or value is None:
        return BatchingConfig()
    _expect_type(value, dict, key, 'false or an object like {"max_batch_size": 32, "max_wait_ms": 2}')
    assert isinstance(value, dict)
    unknown = set(value) - {"max_batch_size", "max_wait_ms"}
    if unknown:
        raise ConfigError(f"{key} has unknown keys {sorted(unknown)}; use max_batch_size and max_wait_ms")
    size = value.get("max_batch_size")
    if size is not None:
        size = check_workers(size, f"{key}.max_batch_size")
    wait = value.get("max_wait_ms", 0.0)
    if isinstance(wait, bool) or not isinstance(wait, int | float) or wait < 0:
        raise ConfigError(f"{key}.max_wait_ms must be a number of milliseconds >= 0, not {wait!r}")
    return BatchingConfig(True, size, float(wait))


def _module_from_json(name: str, entry: object) -> ModuleConfig:
    key = f"modules_info.{name}"
    _expect_type(entry, dict, key, 'an object like {"init_args": {...}, "predict_args": {...}}')
    assert isinstance(entry, dict)
    unknown = set(entry) - MODULE_KEYS
    if unknown:
        raise ConfigError(f"{key} has unknown keys {sorted(unknown)}; allowed: {sorted(MODULE_KEYS)}")
    init_args = dict(entry.get("init_args") or {})
    _expect_type(entry.get("init_args") or {}, dict, f"{key}.init_args", "an object")
    predict_args = entry.get("predict_args") or {}
    _expect_type(predict_args, dict, f"{key}.predict_args", "an object")
    version = init_args.pop("version", None)
    requirement = parse_requirement(name)
    if version is not None:
        requirement = Requirement(name, parse_version(str(version), f"{key}.init_args.version"))
    directory = init_args.pop("directory", None)
    if directory is not None:
        _expect_type(directory, str, f"{key}.init_args.directory", "a folder path")
    batching = _batching_from_json(entry.get("batching"), f"{key}.batching")
    return ModuleConfig(
        name, requirement, Path(directory) if directory else None, init_args, dict(predict_args), batching
    )


def config_from_json(data: object, source: str = "config") -> ServerConfig:
    """Validate a parsed config file; every error names the key to fix."""
    _expect_type(data, dict, source, "a JSON object")
    assert isinstance(data, dict)
    unknown = set(data) - SERVER_KEYS
    if unknown:
        raise ConfigError(f"{source}: unknown keys {sorted(unknown)}; allowed: {sorted(SERVER_KEYS)}")
    if "modules_info" not in data:
        raise ConfigError(f'{source}: missing key "modules_info" (the modules to serve, by name)')
    modules_info = data["modules_info"]
    _expect_type(modules_info, dict, "modules_info", 'an object like {"lac": {"init_args": {}}}')
    modules = check_modules([_module_from_json(name, entry) for name, entry in modules_info.items()])
    for flag in ("use_multiprocess", "use_gpu"):
        if flag in data:
            _expect_type(data[flag], bool, flag, "true or false")
    host = data.get("host", DEFAULT_HOST)
    _expect_type(host, str, "host", "an address like 0.0.0.0")
    return ServerConfig(
        modules=modules,
        host=host,
        port=check_port(data.get("port", DEFAULT_PORT)),
        use_multiprocess=bool(data.get("use_multiprocess", False)),
        workers=check_workers(data["workers"]) if "workers" in data else default_workers(),
        use_gpu=bool(data.get("use_gpu", False)),
        gpu=parse_gpu(data.get("gpu", "0")),
        timeout_s=check_timeout(data.get("timeout", DEFAULT_TIMEOUT_S)),
        max_body_bytes=int(check_timeout(data.get("max_body_mb", 64), "max_body_mb") * 1024 * 1024),
        queue_size=check_workers(data.get("queue_size", DEFAULT_QUEUE_SIZE), "queue_size"),
        api_key=check_api_key(data.get("api_key")),
        cors_origins=parse_cors(data.get("cors")),
        log_format=check_log_format(data.get("log_format", "text")),
        access_log=_flag(data, "access_log", True),
    )


def load_config_file(path: Path) -> ServerConfig:
    """Read and validate ``config.json``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as error:
        raise ConfigError(f"config file {path} cannot be read: {error.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"config file {path} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    return config_from_json(data, str(path))
