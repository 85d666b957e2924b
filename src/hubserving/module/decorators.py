"""The module contract: ``@moduleinfo`` on a class, ``@serving`` on its serving method.

Both decorators only record metadata on the decorated object; nothing else happens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

ClassT = TypeVar("ClassT", bound=type)
FuncT = TypeVar("FuncT", bound=Callable[..., Any])

MODULE_INFO_ATTR = "_hub_module_info"
SERVING_ATTR = "_hub_serving"


@dataclass(frozen=True)
class ModuleInfo:
    """What a module says about itself."""

    name: str
    version: str
    summary: str = ""
    author: str = ""
    author_email: str = ""
    type: str = ""

    @property
    def category(self) -> str:
        """The first part of ``type``: ``nlp``, ``cv``, ..."""
        return self.type.split("/", 1)[0] if self.type else ""


DEFAULT_MAX_BATCH_SIZE = 32
INPUT_KINDS = ("text", "image", "json")


@dataclass(frozen=True)
class ServingSpec:
    """How the server may call a serving method.

    ``batch_arg`` names the list-valued argument whose items are independent inputs
    (one result per item); requests that share every other argument can then be merged
    into one call. ``aliases`` maps other request keys onto method arguments
    (``{"text": "texts"}``) so both spellings batch together. ``input`` says what the
    module's input is (``"text"``, ``"image"``: base64 image files, or ``"json"``: any JSON
    value) and ``input_arg`` which argument holds it (default: ``batch_arg``); ``hub run``,
    multipart uploads and the web page read them. ``retry``: whether a call may be sent
    again to another worker when its worker dies (serving methods are idempotent by default).
    """

    batch_arg: str | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    input: str = "json"
    input_arg: str | None = None
    retry: bool = True

    def __post_init__(self) -> None:
        if self.input not in INPUT_KINDS:
            raise ValueError(f"@serving(input={self.input!r}): use one of {', '.join(INPUT_KINDS)}")
        if isinstance(self.max_batch_size, bool) or self.max_batch_size < 1:
            raise ValueError(f"@serving(max_batch_size={self.max_batch_size!r}): use a positive integer")

    @property
    def input_argument(self) -> str | None:
        """The argument that holds the module's input, if the module says."""
        return self.input_arg or self.batch_arg


def moduleinfo(
    name: str,
    version: str,
    summary: str = "",
    author: str = "",
    author_email: str = "",
    type: str = "",
) -> Callable[[ClassT], ClassT]:
    """Mark a class as a hubserving module and record its metadata."""
    info = ModuleInfo(name, version, summary, author, author_email, type)

    def mark(cls: ClassT) -> ClassT:
        setattr(cls, MODULE_INFO_ATTR, info)
        return cls

    return mark


@overload
def serving(func: FuncT) -> FuncT: ...
@overload
def serving(
    *,
    batch_arg: str | None = None,
    aliases: Mapping[str, str] | None = None,
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    input: str = "json",
    input_arg: str | None = None,
    retry: bool = True,
) -> Callable[[FuncT], FuncT]: ...
def serving(
    func: FuncT | None = None,
    *,
    batch_arg: str | None = None,
    aliases: Mapping[str, str] | None = None,
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    input: str = "json",
    input_arg: str | None = None,
    retry: bool = True,
) -> FuncT | Callable[[FuncT], FuncT]:
    """Mark the method that ``POST /predict/<module>`` calls.

    Use bare (``@serving``) or with metadata
    (``@serving(batch_arg="texts", aliases={"text": "texts"}, input="text")``). The method's type
    hints are checked on every request: a value of the wrong type is answered 400 naming the argument.
    """
    spec = ServingSpec(batch_arg, dict(aliases or {}), max_batch_size, input, input_arg, retry)

    def mark(method: FuncT) -> FuncT:
        setattr(method, SERVING_ATTR, spec)
        return method

    return mark(func) if func is not None else mark
