"""Import a module folder and build its class: runs inside a worker process only."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from hubserving.errors import ModuleLoadError
from hubserving.module.decorators import MODULE_INFO_ATTR, SERVING_ATTR, ModuleInfo, ServingSpec
from hubserving.module.finder import MODULE_FILE
from hubserving.module.signature import Signature, inspect_signature


@dataclass(frozen=True)
class LoadedModule:
    """A constructed module instance and its bound serving method."""

    info: ModuleInfo
    method: Callable[..., Any]
    spec: ServingSpec
    signature: Signature
    details: Mapping[str, Any] = field(default_factory=dict)


def _package_name(directory: Path) -> str:
    digest = hashlib.sha1(str(directory).encode()).hexdigest()[:10]
    return f"hubserving_module_{directory.name.replace('.', '_').replace('-', '_')}_{digest}"


def import_module_file(directory: Path) -> ModuleType:
    """Import ``directory/module.py`` as a submodule of a package rooted at ``directory``.

    The module may then use relative imports (``from .processor import ...``).
    """
    package = _package_name(directory)
    if package not in sys.modules:
        package_spec = importlib.util.spec_from_loader(package, loader=None, is_package=True)
        assert package_spec is not None
        package_spec.submodule_search_locations = [str(directory)]
        sys.modules[package] = importlib.util.module_from_spec(package_spec)
    name = f"{package}.module"
    spec = importlib.util.spec_from_file_location(name, directory / MODULE_FILE)
    if spec is None or spec.loader is None:
        raise ModuleLoadError(f"cannot import {directory / MODULE_FILE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def find_module_class(module: ModuleType, directory: Path) -> type:
    for value in vars(module).values():
        if (
            inspect.isclass(value)
            and value.__module__ == module.__name__
            and hasattr(value, MODULE_INFO_ATTR)
        ):
            return value
    raise ModuleLoadError(f"{directory / MODULE_FILE} defines no class decorated with @moduleinfo")


def find_serving_method(cls: type) -> str:
    names = [name for name, value in inspect.getmembers(cls) if hasattr(value, SERVING_ATTR)]
    if len(names) != 1:
        found = ", ".join(names) or "none"
        raise ModuleLoadError(f"{cls.__name__} must mark exactly one method with @serving (found: {found})")
    return names[0]


def construct(cls: type, init_args: Mapping[str, Any], use_gpu: bool) -> Any:
    """Build the module, passing ``use_gpu`` when its constructor takes it."""
    arguments = dict(init_args)
    accepted = inspect.signature(cls).parameters
    if use_gpu and "use_gpu" in accepted:
        arguments.setdefault("use_gpu", True)
    unknown = [key for key in arguments if key not in accepted]
    if unknown and not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        raise ModuleLoadError(
            f"{cls.__name__}() does not take init_args {unknown}; "
            f"it accepts: {', '.join(accepted) or 'nothing'}"
        )
    return cls(**arguments)


def load_module(directory: Path, init_args: Mapping[str, Any], use_gpu: bool = False) -> LoadedModule:
    """Import, construct and describe one module folder."""
    cls = find_module_class(import_module_file(directory), directory)
    method_name = find_serving_method(cls)
    instance = construct(cls, init_args, use_gpu)
    method = getattr(instance, method_name)
    info: ModuleInfo = getattr(cls, MODULE_INFO_ATTR)
    spec: ServingSpec = getattr(method, SERVING_ATTR)
    signature = inspect_signature(method, f"{info.name}.{method_name}()")
    check_spec(spec, signature)
    return LoadedModule(info, method, spec, signature, module_details(instance))


def check_spec(spec: ServingSpec, signature: Signature) -> None:
    """``@serving`` may only name arguments the method has."""
    named = {
        "batch_arg": spec.batch_arg,
        "input_arg": spec.input_arg,
        **{f"aliases[{k!r}]": v for k, v in spec.aliases.items()},
    }
    for what, argument in named.items():
        if argument is not None and argument not in signature.names:
            raise ModuleLoadError(
                f"{signature.label}: @serving({what}={argument!r}) names no argument of the method; "
                f"it has: {', '.join(signature.names) or 'none'}"
            )


def module_details(instance: Any) -> Mapping[str, Any]:
    """What a module adds to its description (``serving_details()``: e.g. input shapes); must be JSON."""
    describe = getattr(instance, "serving_details", None)
    if describe is None:
        return {}
    details = describe()
    if not isinstance(details, Mapping):
        raise ModuleLoadError(f"{type(instance).__name__}.serving_details() must return a dict")
    return dict(details)
