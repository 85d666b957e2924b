"""A serving method's arguments as clients see them, and the check of a request against them.

Built once when a module loads: names, defaults, which are required, and each type hint compiled
into a check, so a wrong type is a 400 naming the argument before the module runs.
"""

from __future__ import annotations

import functools
import inspect
import logging
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hubserving.errors import RequestError
from hubserving.module.hints import Check, compile_hint, hint_text

logger = logging.getLogger("hubserving.module")


@dataclass(frozen=True)
class Parameter:
    """One argument of a serving method, as clients see it."""

    name: str
    default: Any = None
    required: bool = False
    type: str = ""  # the type hint as text (``list[str]``); empty when there is none


@dataclass(frozen=True)
class Signature:
    """The serving method's arguments and their checks."""

    label: str  # ``lac.cut()``, for messages
    parameters: tuple[Parameter, ...]
    accepts_any_keyword: bool
    checks: Mapping[str, Check] = field(default_factory=dict)

    @functools.cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(parameter.name for parameter in self.parameters)

    @functools.cached_property
    def required(self) -> tuple[str, ...]:
        return tuple(parameter.name for parameter in self.parameters if parameter.required)

    def check(self, kwargs: Mapping[str, Any]) -> None:
        """Raise RequestError naming the first unknown, missing or mistyped argument."""
        self.check_given(kwargs)
        missing = [name for name in self.required if name not in kwargs]
        if missing:
            raise RequestError(f"{self.label} needs {', '.join(map(repr, missing))} in the request body")

    def check_given(self, kwargs: Mapping[str, Any]) -> None:
        """Raise RequestError naming the first unknown or mistyped argument of those given."""
        if not self.accepts_any_keyword:
            unknown = [key for key in kwargs if key not in self.names]
            if unknown:
                raise RequestError(
                    f"{self.label} does not take {', '.join(map(repr, unknown))}; "
                    f"it accepts: {', '.join(self.names)}"
                )
        for name, value in kwargs.items():
            self._check_type(name, value)

    def _check_type(self, name: str, value: Any) -> None:
        check = self.checks.get(name)
        problem = check(value, name) if check is not None else None
        if problem is not None:
            expected = next(p.type for p in self.parameters if p.name == name)
            raise RequestError(f"{self.label}: argument {name!r} must be {expected}; {problem}")


def _hints(method: Callable[..., Any], label: str) -> dict[str, Any]:
    try:
        return typing.get_type_hints(method)
    except Exception as error:  # a hint naming what the module imports only for type checkers
        logger.warning("%s: its type hints cannot be read (%s); arguments are not type-checked", label, error)
        return {}


def inspect_signature(method: Callable[..., Any], label: str) -> Signature:
    """The arguments of ``method`` and a check for each hinted one."""
    hints = _hints(method, label)
    parameters: list[Parameter] = []
    checks: dict[str, Check] = {}
    accepts_any = False
    for parameter in inspect.signature(method).parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            accepts_any = True
            continue
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        required = parameter.default is inspect.Parameter.empty
        hint = hints.get(parameter.name)
        check = compile_hint(hint) if parameter.name in hints else None
        if check is not None:
            checks[parameter.name] = check
        text = hint_text(hint) if parameter.name in hints else ""
        parameters.append(Parameter(parameter.name, None if required else parameter.default, required, text))
    return Signature(label, tuple(parameters), accepts_any, checks)
