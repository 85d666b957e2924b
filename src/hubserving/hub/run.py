"""``hub run <name> --input_text ... | --input_file ...``: load a module here and print its result as JSON.

The input goes to the serving method's batch argument (``@serving(batch_arg=...)``) as a list; without
one, to ``texts``/``text``/``images``/``image``/``data``, or else the first required argument. A plural
or batch argument gets every input at once; a singular one is called once per input. For ``images`` or
``image``, ``--input_file`` is an image file, sent base64-encoded as over HTTP; otherwise it is a text
file with one input a line.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubserving.envelope import dumps
from hubserving.errors import ConfigError, HubServingError, ModuleLoadError, ModuleRunError
from hubserving.hub.errortrace import own_traceback
from hubserving.hub.lookup import find_source
from hubserving.module.finder import ModuleSource
from hubserving.module.loader import LoadedModule, load_module
from hubserving.paths import HubHome

PREFERRED_ARGUMENTS = ("texts", "text", "images", "image", "data")
IMAGE_ARGUMENTS = ("images", "image")


@dataclass(frozen=True)
class RunRequest:
    """What ``hub run`` was asked."""

    module: str
    texts: tuple[str, ...] = ()
    input_file: Path | None = None
    arguments: Mapping[str, Any] = field(default_factory=dict)


def parse_arguments(pairs: Sequence[str]) -> dict[str, Any]:
    """``--arg key=value`` pairs; a value is read as JSON when it is JSON (``true``, ``3``, ``[1]``)."""
    arguments: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--arg {pair!r}: write KEY=VALUE, e.g. --arg return_tag=false")
        try:
            arguments[key] = json.loads(value)
        except ValueError:
            arguments[key] = value
    return arguments


def run_module(home: HubHome, request: RunRequest) -> str:
    """Load the module in this process, call its serving method, return the result as JSON text."""
    source = find_source(home, request.module)
    loaded = _load(source)
    target = target_argument(loaded)
    items = _inputs(request, image=target in IMAGE_ARGUMENTS)
    base = dict(request.arguments)
    if target == loaded.spec.batch_arg or target.endswith("s"):
        result = _call(loaded, source, {**base, target: items})
    else:
        results = [_call(loaded, source, {**base, target: item}) for item in items]
        result = results[0] if len(results) == 1 else results
    return dumps(result).decode()


def target_argument(loaded: LoadedModule) -> str:
    """The serving-method argument that the input goes to."""
    if loaded.spec.batch_arg:
        return loaded.spec.batch_arg
    names = loaded.signature.names
    for name in PREFERRED_ARGUMENTS:
        if name in names:
            return name
    required = [parameter.name for parameter in loaded.signature.parameters if parameter.required]
    if required or names:
        return (required or list(names))[0]
    raise ModuleRunError(f"{loaded.info.name}'s serving method takes no arguments to put the input in")


def _inputs(request: RunRequest, image: bool) -> list[str]:
    items = list(request.texts)
    path = request.input_file
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"--input_file {path} does not exist")
        if image:
            items.append(base64.b64encode(path.read_bytes()).decode("ascii"))
        else:
            items += [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not items:
        raise ConfigError("nothing to run on: give --input_text TEXT or --input_file FILE")
    return items


def _load(source: ModuleSource) -> LoadedModule:
    try:
        return load_module(source.directory, {})
    except HubServingError:
        raise
    except Exception as error:
        trace = own_traceback(error, source.directory)
        raise ModuleLoadError(f"Module {source} ({source.directory}) failed to load:\n{trace}") from None


def _call(loaded: LoadedModule, source: ModuleSource, arguments: dict[str, Any]) -> Any:
    try:
        return loaded.method(**arguments)
    except Exception as error:
        name = f"{loaded.info.name}.{getattr(loaded.method, '__name__', 'serving method')}"
        raise ModuleRunError(f"{name}() raised:\n{own_traceback(error, source.directory)}") from None
