"""What a module's code says about itself: import its ``module.py`` (not build it) for ``hub show``."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from hubserving.errors import HubServingError, ModuleLoadError
from hubserving.hub.errortrace import own_traceback
from hubserving.module.decorators import SERVING_ATTR, ServingSpec
from hubserving.module.finder import ModuleSource
from hubserving.module.loader import find_module_class, find_serving_method, import_module_file


@dataclass(frozen=True)
class ServingDescription:
    """The serving method as a user calls it."""

    class_name: str
    method_name: str
    signature: str
    spec: ServingSpec
    init_signature: str


def describe_serving(source: ModuleSource) -> ServingDescription:
    """Import the module and describe its serving method; ModuleLoadError with its traceback if it fails."""
    try:
        cls = find_module_class(import_module_file(source.directory), source.directory)
        method_name = find_serving_method(cls)
    except HubServingError:
        raise
    except Exception as error:
        trace = own_traceback(error, source.directory)
        raise ModuleLoadError(f"Module {source} ({source.directory}) failed to import:\n{trace}") from None
    method = getattr(cls, method_name)
    return ServingDescription(
        cls.__name__,
        method_name,
        _without_self(inspect.signature(method)),
        getattr(method, SERVING_ATTR),
        _without_self(inspect.signature(cls)),
    )


def _without_self(signature: inspect.Signature) -> str:
    parameters = [p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()]
    if parameters and parameters[0].name == "self":
        parameters = parameters[1:]
    return str(signature.replace(parameters=parameters, return_annotation=inspect.Signature.empty))
