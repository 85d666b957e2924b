"""One exception hierarchy and one table from envelope code to HTTP status.

Errors become responses in exactly two places: the HTTP layer and the CLI. Every layer that answers
a request (the front, the pool, the worker's handler) takes its HTTP status from ``HTTP_STATUS``.
"""

from __future__ import annotations

import json
from enum import Enum


class Code(Enum):
    """Why an answer is what it is: the envelope's ``status`` and the HTTP status, in one table.

    101/111/112 are the reference's; the rest are ours. 101 has two meanings, as in the reference:
    arguments the serving method refuses (400) and a serving method that raised (500).
    """

    OK = ("0", 200)
    INVALID_ARGUMENTS = ("101", 400)
    PREDICT_FAILED = ("101", 500)
    MODULE_NOT_AVAILABLE = ("111", 404)
    NOT_JSON_CONTENT_TYPE = ("112", 415)
    MALFORMED_JSON = ("113", 400)
    BODY_NOT_OBJECT = ("114", 400)
    BODY_TOO_LARGE = ("115", 413)
    NOT_READY = ("116", 503)
    OVERLOADED = ("117", 503)
    TIMEOUT = ("118", 504)
    WORKER_LOST = ("119", 503)
    UNAUTHORIZED = ("120", 401)
    METHOD_NOT_ALLOWED = ("121", 405)
    INTERNAL = ("122", 500)
    UNSUPPORTED_ENCODING = ("123", 415)
    CONNECTION_LIMIT = ("124", 503)

    @property
    def status(self) -> str:
        """The envelope's ``status`` field."""
        return str(self.value[0])

    @property
    def http_status(self) -> int:
        """The HTTP status every answer with this code gets."""
        return int(self.value[1])


HTTP_STATUS: dict[Code, int] = {code: code.http_status for code in Code}


class HubServingError(Exception):
    """Base of every error hubserving reports to a user; its HTTP status comes from its code."""

    code: Code = Code.INTERNAL

    @property
    def http_status(self) -> int:
        return self.code.http_status


class ConfigError(HubServingError):
    """The command line or the config file asks for something impossible."""

    code = Code.INVALID_ARGUMENTS


class ModuleNotFound(HubServingError):
    """No installed module matches a requested name and version."""

    code = Code.MODULE_NOT_AVAILABLE


class ModuleLoadError(HubServingError):
    """A module was found but importing or constructing it failed."""


class PortInUse(HubServingError):
    """The port to serve on is taken."""


class RequestError(HubServingError):
    """Input the server or a module refuses: the client gets its message and a 4xx status.

    Modules raise it (``from hubserving import RequestError``) for input they cannot use; any other
    exception from a module is a bug, answered 500 with its traceback in the worker's log.
    """

    def __init__(self, message: str, code: Code = Code.INVALID_ARGUMENTS) -> None:
        super().__init__(message)
        self.code = code


class ArchiveError(HubServingError):
    """A module archive that cannot be read, or that would write outside its folder."""


class ChecksumMismatch(ArchiveError):
    """A file's sha256 is not the one its index, checksum file or manifest gives."""


class ModuleIndexError(HubServingError):
    """A module index (``index.json``) that cannot be fetched or read, or has no matching module."""


class InstallError(HubServingError):
    """A module cannot be installed or uninstalled as asked."""


class MissingRequirements(InstallError):
    """A module needs Python packages that are not installed (and installing them was not allowed)."""


class ModuleInUse(InstallError):
    """Uninstalling a module that a running server serves."""


class ModuleRunError(HubServingError):
    """``hub run``: the module's serving method raised."""


def shown_value(value: object) -> str:
    """A value as an error message quotes it: its JSON, cut at 60 characters."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
