"""``hub run <name> --input_text ... | --input_file ...``: load a module here and print its result as JSON.

The input goes to the argument the module declares (``@serving(input_arg=...)``, else its ``batch_arg``),
or else the first required argument. A batch argument, or one hinted as a list, gets every input at once;
any other is called once per input. For a module whose ``input`` is ``"image"``, ``--input_file`` is an
image file, sent base64-encoded as over HTTP; otherwise it is a text file with one input a line.
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
    items = _inputs(request, image=loaded.spec.input == "image")
    base = dict(request.arguments)
    if takes_a_list(loaded, target):
        result = _call(loaded, source, {**base, target: items})
    else:
        results = [_call(loaded, source, {**base, target: item}) for item in items]
        result = results[0] if len(results) == 1 else results
    return dumps(result).decode()


def target_argument(loaded: LoadedModule) -> str:
    """The serving-method argument that the input goes to: the one the module declares."""
    declared = loaded.spec.input_argument
    if declared:
        return declared
    names = loaded.signature.names
    required = loaded.signature.required
    if required or names:
        return (required or names)[0]
    raise ModuleRunError(f"{loaded.info.name}'s serving method takes no arguments to put the input in")


def takes_a_list(loaded: LoadedModule, argument: str) -> bool:
    """Whether the inputs go in one call as a list: the batch argument, or one hinted as a list."""
    hint = next((p.type for p in loaded.signature.parameters if p.name == argument), "")
    return argument == loaded.spec.batch_arg or "list[" in hint


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
