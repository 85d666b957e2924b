"""The server's configuration: one validated, frozen object.

The command line and config.json both become the same mapping (the config file's format) and go
through ``config_from_json``, the one validator. Defaults live here and nowhere else: in the
dataclasses' fields.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from hubserving.errors import ConfigError, shown_value
from hubserving.module.requirement import Requirement, looks_like_folder, parse_requirement, parse_version
from hubserving.ray.settings import ModuleReplicas, ModuleResources, RaySettings

LOG_FORMATS = ("text", "json")
MAX_WORKERS = 128  # more processes than any one machine here can feed; a typo, not a plan
MAX_QUEUE_SIZE = 1_000_000
MODULE_KEYS = {"init_args", "predict_args", "batching", "workers", "device", "replicas", "resources"}
DEVICES = ("cpu", "gpu")
BATCHING_KEYS = {"max_batch_size", "max_wait_ms"}


def default_workers() -> int:
    """One worker per core this process may use. A worker computes on one math thread, so more workers
    only share the same cores: on 2 cores, PaddleHub's ``2 * cpu_count - 1`` (3 lac workers) used 16 to
    32 % more CPU a request than 2 and answered 20 to 40 % fewer requests (bench/RESULTS.md)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on macOS and Windows
        cores = os.cpu_count() or 1
    return max(1, cores)


def default_worker_memory_mb() -> int:
    """A worker above this after a call is replaced: half the machine's memory, at least 1 GiB."""
    import psutil

    return max(1024, psutil.virtual_memory().total // (2 * 1024 * 1024))


@dataclass(frozen=True)
class BatchingConfig:
    """How one module batches concurrent requests (used when its serving method allows it)."""

    enabled: bool = True
    max_batch_size: int | None = None  # None: the module's own (``@serving(max_batch_size=...)``)
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
    workers: int | None = None  # its own worker processes; None: the server's worker_count
    device: str | None = None  # "cpu" keeps it on the CPU on a GPU server; None: the server's choice
    replicas: ModuleReplicas | None = None  # Ray mode: fixed or autoscaled; None: ``workers`` replicas
    resources: ModuleResources | None = None  # Ray mode: what each replica reserves; None: 1 CPU


@dataclass(frozen=True)
class ServerConfig:
    """Everything ``hub serving start`` needs. Each field is the config.json key of the same name,
    except ``timeout_s`` (``timeout``), ``max_body_bytes`` (``max_body_mb``), ``cors_origins`` (``cors``).
    """

    modules: tuple[ModuleConfig, ...]
    host: str = "0.0.0.0"
    port: int = 8866
    use_multiprocess: bool = False
    workers: int = field(default_factory=default_workers)
    use_gpu: bool = False
    gpu: tuple[int, ...] = (0,)
    workers_per_gpu: int = 1  # with use_gpu: workers sharing each card
    timeout_s: float = 60.0
    max_body_bytes: int = 64 * 1024 * 1024
    queue_size: int = 512  # requests waiting or running, per module; beyond: 503
    api_key: str | None = None
    cors_origins: tuple[str, ...] = ()
    log_format: str = "text"
    access_log: bool = True
    header_timeout_s: float = 10.0  # a connection that has not sent whole headers by then is closed
    body_timeout_s: float = 30.0  # a request body that stalls this long is dropped
    max_connections: int = 2048  # open connections; beyond: 503
    worker_memory_mb: int = field(default_factory=default_worker_memory_mb)
    # Workers run this much nicer than the front, which then takes requests and answers at once when
    # the workers hold every core (one sentence at c=64: +4 % req/s; /health under load 1.9 -> 0.6 ms).
    worker_nice: int = 10
    grpc_port: int | None = None  # the Open Inference Protocol over gRPC; off unless given
    admin: bool = False  # take management requests (load and unload modules: that runs module code)
    watch: bool = False  # reload a module when its folder changes (for module authors)
    config_file: Path | None = None  # where the modules' settings came from: a reload reads them again
    ray: RaySettings | None = None  # serve on a Ray cluster (Ray Serve deployments), not local workers

    @property
    def worker_count(self) -> int:
        """How many worker processes a module gets unless it says: ``workers_per_gpu`` per card on GPU,
        ``workers`` in multiprocess, else one."""
        if self.use_gpu:
            return len(self.gpu) * self.workers_per_gpu
        return self.workers if self.use_multiprocess else 1

    def on_gpu(self, module: ModuleConfig) -> bool:
        """Whether ``module`` runs on the GPU cards: on a GPU server, unless its config says "cpu"."""
        return self.use_gpu and module.device != "cpu"

    def workers_of(self, module: ModuleConfig) -> int:
        """How many worker processes ``module`` gets."""
        if module.workers is not None:
            return module.workers
        if self.use_gpu and not self.on_gpu(module):
            return self.workers if self.use_multiprocess else 1
        return self.worker_count

    @property
    def mode(self) -> str:
        if self.ray is not None:
            return f"Ray cluster {self.ray.address}, applications {self.ray.applications_prefix(self.port)}*"
        if self.use_gpu:
            per_card = "one worker" if self.workers_per_gpu == 1 else f"{self.workers_per_gpu} workers"
            return f"GPU, cards {','.join(map(str, self.gpu))}, {per_card} per card"
        if self.use_multiprocess:
            return f"multiprocess, {self.workers} workers a module unless its config says"
        return "single process"


def default_of(name: str) -> Any:
    """The default of a ServerConfig field (for help texts): defaults are written only in the fields."""
    for item in fields(ServerConfig):
        if item.name == name:
            return item.default_factory() if callable(item.default_factory) else item.default
    raise KeyError(name)


# Validators, named for what they check. ``key`` is how the message names the setting.


def check_positive_int(value: object, key: str, maximum: int | None = None) -> int:
    """An integer from 1 (to ``maximum``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (maximum and value > maximum):
        bound = f" up to {maximum}" if maximum else ""
        raise ConfigError(f"{key} must be a positive integer{bound}, not {shown_value(value)}")
    return value


def check_nice(value: object, key: str) -> int:
    """A niceness step from 0 (as the front) to 19 (the lowest priority)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 19:
        raise ConfigError(f"{key} must be an integer from 0 to 19, not {shown_value(value)}")
    return value


def check_positive_number(value: object, key: str, unit: str) -> float:
    """A finite number above 0 (NaN and Infinity are refused: they break every use of it)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigError(f"{key} must be a positive number of {unit}, not {shown_value(value)}")
    return float(value)


def check_wait_ms(value: object, key: str) -> float:
    """A finite number of milliseconds, 0 or more."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{key} must be a number of milliseconds >= 0, not {shown_value(value)}")
    return float(value)


def check_port(value: object, key: str = "port") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ConfigError(f"{key} must be an integer between 1 and 65535, not {shown_value(value)}")
    return value


def check_flag(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, not {shown_value(value)}")
    return value


def check_host(value: object, key: str = "host") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be an address like 0.0.0.0 or 127.0.0.1, not {shown_value(value)}")
    return value


def check_log_format(value: object, key: str = "log_format") -> str:
    if value not in LOG_FORMATS:
        raise ConfigError(f"{key} must be one of {', '.join(LOG_FORMATS)}, not {shown_value(value)}")
    return str(value)


def parse_gpu(value: object, key: str = "gpu") -> tuple[int, ...]:
    """``"0,1"``, ``[0, 1]`` or ``0`` as a tuple of card indices."""
    items: Sequence[object]
    if isinstance(value, bool):
        raise ConfigError(f'{key} must be card numbers like "0,1", not {shown_value(value)}')
    if isinstance(value, int):
        items = [value]
    elif isinstance(value, str):
        items = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list):
        items = value
    else:
        raise ConfigError(f'{key} must be card numbers like "0,1", not {shown_value(value)}')
    cards: list[int] = []
    for item in items:
        text = str(item)
        if isinstance(item, bool) or not text.isdigit() or len(text) > 4:
            raise ConfigError(
                f'{key}: {shown_value(item)} is not a card number; use non-negative integers like "0,1"'
            )
        cards.append(int(text))
    if not cards or len(cards) > MAX_WORKERS:
        raise ConfigError(
            f'{key} must list cards like "0,1" (a card twice: two workers share it); got {shown_value(value)}'
        )
    return tuple(cards)


def parse_cors(value: object, key: str = "cors") -> tuple[str, ...]:
    """``"*"``, ``"https://a.example,https://b.example"`` or a list of origins."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ConfigError(
            f'{key} must be origins like "https://app.example.com" or "*", not {shown_value(value)}'
        )
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


def check_object(value: object, key: str, example: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be an object like {example}, not {shown_value(value)}")
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


# Modules: ``-m`` texts and ``modules_info`` entries.


def module_entry_from_text(text: str, name: str | None = None) -> tuple[str, dict[str, Any]]:
    """``lac``, ``lac==2.2.0`` or a folder as a ``modules_info`` entry: (name, entry)."""
    if not looks_like_folder(text):
        requirement = parse_requirement(text)
        init_args = {"version": str(requirement.version)} if requirement.version else {}
        return requirement.name, {"init_args": init_args}
    chosen = name or Path(text).expanduser().resolve().name
    try:
        requirement = parse_requirement(chosen)
    except ConfigError:
        raise ConfigError(
            f"the folder name {chosen!r} cannot be a module name in a URL; give one with --name"
        ) from None
    return requirement.name, {"init_args": {"directory": text}}


def modules_info_from_texts(texts: Sequence[str], name: str | None = None) -> dict[str, Any]:
    """``-m lac senta_bilstm==1.2.0 ./exported_model`` as ``modules_info``; ``name`` names the one folder."""
    folders = [text for text in texts if looks_like_folder(text)]
    if name is not None and len(folders) != 1:
        raise ConfigError("--name names a served folder: use it with exactly one folder in -m")
    entries = [module_entry_from_text(text, name if text in folders else None) for text in texts]
    duplicates = sorted({n for n, _ in entries if [m for m, _ in entries].count(n) > 1})
    if duplicates:
        raise ConfigError(f"module {', '.join(duplicates)} is listed twice; serve each name once")
    return dict(entries)


def _batching(value: object, key: str) -> BatchingConfig:
    if value is False:
        return BatchingConfig(enabled=False)
    if value is True or value is None:
        return BatchingConfig()
    entry = check_object(value, key, '{"max_batch_size": 32, "max_wait_ms": 2} (or false)')
    unknown = set(entry) - BATCHING_KEYS
    if unknown:
        raise ConfigError(f"{key} has unknown keys {sorted(unknown)}; use max_batch_size and max_wait_ms")
    size = entry.get("max_batch_size")
    if size is not None:
        size = check_positive_int(size, f"{key}.max_batch_size", 65535)
    return BatchingConfig(True, size, check_wait_ms(entry.get("max_wait_ms", 0.0), f"{key}.max_wait_ms"))


def beside_config(value: object, base_dir: Path) -> object:
    """An init_args value that is a relative path naming something in the config file's folder, made
    absolute against that folder (``"user_dict": "dict.txt"``); any other value as written."""
    if not isinstance(value, str) or not value.strip():
        return value
    try:
        if Path(value).expanduser().is_absolute() or not (base_dir / value).exists():
            return value
    except (OSError, ValueError):  # a name too long, or a NUL: not a path here
        return value
    return os.path.normpath(base_dir / value)


def module_from_entry(name: str, value: object, base_dir: Path | None = None) -> ModuleConfig:
    """One `modules_info` entry, validated: every error names `modules_info.<name>.<key>`."""
    key = f"modules_info.{name}"
    entry = check_object(value, key, '{"init_args": {...}, "predict_args": {...}}')
    unknown = set(entry) - MODULE_KEYS
    if unknown:
        raise ConfigError(f"{key} has unknown keys {sorted(unknown)}; allowed: {sorted(MODULE_KEYS)}")
    init_args = dict(check_object(entry.get("init_args") or {}, f"{key}.init_args", '{"user_dict": "..."}'))
    predict_args = check_object(entry.get("predict_args") or {}, f"{key}.predict_args", '{"batch_size": 1}')
    requirement = parse_requirement(name)
    version = init_args.pop("version", None)
    if version is not None:
        requirement = Requirement(requirement.name, parse_version(str(version), f"{key}.init_args.version"))
    directory = init_args.pop("directory", None)
    if directory is not None and (not isinstance(directory, str) or not directory):
        raise ConfigError(f"{key}.init_args.directory must be a folder path, not {shown_value(directory)}")
    folder = None
    if directory:
        folder = Path(directory).expanduser()
        folder = base_dir / folder if base_dir is not None and not folder.is_absolute() else folder
    if base_dir is not None:
        init_args = {arg: beside_config(value, base_dir) for arg, value in init_args.items()}
    batching = _batching(entry.get("batching"), f"{key}.batching")
    workers = entry.get("workers")
    if workers is not None:
        workers = check_positive_int(workers, f"{key}.workers", MAX_WORKERS)
    device = entry.get("device")
    if device is not None and device not in DEVICES:
        raise ConfigError(f'{key}.device must be "cpu" or "gpu", not {shown_value(device)}')
    replicas = entry.get("replicas")
    resources = entry.get("resources")
    return ModuleConfig(
        requirement.name,
        requirement,
        folder,
        init_args,
        dict(predict_args),
        batching,
        workers,
        device,
        None if replicas is None else ModuleReplicas.from_json(replicas, f"{key}.replicas"),
        None if resources is None else ModuleResources.from_json(resources, f"{key}.resources"),
    )


# The settings other than modules: key -> (ServerConfig field, how to check it).
Setting = Callable[[Any, str], Any]
SETTINGS: dict[str, tuple[str, Setting]] = {
    "host": ("host", check_host),
    "port": ("port", check_port),
    "use_multiprocess": ("use_multiprocess", check_flag),
    "workers": ("workers", lambda v, k: check_positive_int(v, k, MAX_WORKERS)),
    "use_gpu": ("use_gpu", check_flag),
    "gpu": ("gpu", parse_gpu),
    "workers_per_gpu": ("workers_per_gpu", lambda v, k: check_positive_int(v, k, 16)),
    "timeout": ("timeout_s", lambda v, k: check_positive_number(v, k, "seconds")),
    "max_body_mb": (
        "max_body_bytes",
        lambda v, k: int(check_positive_number(v, k, "megabytes") * 1024 * 1024),
    ),
    "queue_size": ("queue_size", lambda v, k: check_positive_int(v, k, MAX_QUEUE_SIZE)),
    "api_key": ("api_key", check_api_key),
    "cors": ("cors_origins", parse_cors),
    "log_format": ("log_format", check_log_format),
    "access_log": ("access_log", check_flag),
    "header_timeout_s": ("header_timeout_s", lambda v, k: check_positive_number(v, k, "seconds")),
    "body_timeout_s": ("body_timeout_s", lambda v, k: check_positive_number(v, k, "seconds")),
    "max_connections": ("max_connections", lambda v, k: check_positive_int(v, k, 1_000_000)),
    "worker_memory_mb": ("worker_memory_mb", lambda v, k: check_positive_int(v, k, 16 * 1024 * 1024)),
    "worker_nice": ("worker_nice", check_nice),
    "grpc_port": ("grpc_port", check_port),
    "admin": ("admin", check_flag),
    "reload": ("watch", check_flag),
    "ray": ("ray", RaySettings.from_json),
}
SERVER_KEYS = {"modules_info", *SETTINGS}


def config_from_json(
    data: object,
    source: str = "config",
    base_dir: Path | None = None,
    spell: Callable[[str], str] = lambda key: key,
) -> ServerConfig:
    """Validate a config mapping (a config.json's, or the command line's); every error names the key.

    ``base_dir``: the config file's folder, that relative ``init_args.directory`` paths start from (and
    other relative ``init_args`` paths that exist there: ``beside_config``).
    ``spell``: how a key is named in messages (``--port`` on the command line).
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must be a JSON object, not {shown_value(data)}")
    unknown = set(data) - SERVER_KEYS
    if unknown:
        raise ConfigError(f"{source}: unknown keys {sorted(unknown)}; allowed: {sorted(SERVER_KEYS)}")
    if "modules_info" not in data:
        raise ConfigError(f'{source}: missing key "modules_info" (the modules to serve, by name)')
    modules_info = check_object(data["modules_info"], "modules_info", '{"lac": {"init_args": {}}}')
    modules = check_modules(
        [module_from_entry(name, entry, base_dir) for name, entry in modules_info.items()]
    )
    values = {
        field_name: check(data[key], spell(key))
        for key, (field_name, check) in SETTINGS.items()
        if key in data
    }
    config = ServerConfig(modules=modules, **values)
    check_ray_only(config)
    return config


def check_ray_only(config: ServerConfig) -> None:
    """``replicas`` and ``resources`` place Ray replicas: refuse them without Ray mode."""
    if config.ray is not None:
        return
    for module in config.modules:
        for key in ("replicas", "resources"):
            if getattr(module, key) is not None:
                raise ConfigError(
                    f"modules_info.{module.name}.{key} needs Ray mode: add --ray auto (or "
                    '"ray": {"address": "auto"} to the config); on one machine, use "workers"'
                )


def _reject_constant(name: str) -> Any:
    raise ConfigError(f"{name} is not a number JSON allows; write a finite number")


def parse_config_text(raw: bytes, path: Path) -> object:
    """A config file's bytes as JSON, or ConfigError saying what is wrong with them, in one line."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte {error.start}); save it as UTF-8"
        ) from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"config file {path} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise ConfigError(f"config file {path} is nested too deeply to be a config") from None
    except ConfigError as error:
        raise ConfigError(f"config file {path}: {error}") from None
    except ValueError as error:  # an integer of thousands of digits
        raise ConfigError(f"config file {path} holds a value that cannot be read: {error}") from None


def load_config_file(path: Path, overrides: Mapping[str, Any] | None = None) -> ServerConfig:
    """Read and validate ``config.json``; ``overrides`` (from command-line flags) replace its keys."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as error:
        raise ConfigError(f"config file {path} cannot be read: {error.strerror}") from None
    data = parse_config_text(raw, path)
    if isinstance(data, dict) and overrides:
        data = {**data, **overrides}
    config = config_from_json(data, str(path), base_dir=path.resolve().parent)
    return dataclasses.replace(config, config_file=path.resolve())
