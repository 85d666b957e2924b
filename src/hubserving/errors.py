"""One exception hierarchy. Each error knows its envelope code and its HTTP status.

Errors become responses in exactly two places: the HTTP layer and the CLI.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    """The envelope's ``status`` field. 101/111/112 are the reference's; the rest are ours."""

    OK = "0"
    PREDICT_FAILED = "101"
    MODULE_NOT_AVAILABLE = "111"
    NOT_JSON_CONTENT_TYPE = "112"
    MALFORMED_JSON = "113"
    BODY_NOT_OBJECT = "114"
    BODY_TOO_LARGE = "115"
    NOT_READY = "116"
    OVERLOADED = "117"
    TIMEOUT = "118"
    WORKER_LOST = "119"
    UNAUTHORIZED = "120"
    METHOD_NOT_ALLOWED = "121"
    INTERNAL = "122"


class HubServingError(Exception):
    """Base of every error hubserving reports to a user."""

    code: Code = Code.PREDICT_FAILED
    http_status: int = 500


class ConfigError(HubServingError):
    """The command line or the config file asks for something impossible."""

    http_status = 400


class ModuleNotFound(HubServingError):
    """No installed module matches a requested name and version."""

    code = Code.MODULE_NOT_AVAILABLE
    http_status = 404


class ModuleLoadError(HubServingError):
    """A module was found but importing or constructing it failed."""


class PortInUse(HubServingError):
    """The port to serve on is taken."""


class RequestError(HubServingError):
    """The client sent something the server cannot use (HTTP 4xx)."""

    http_status = 400

    def __init__(self, message: str, code: Code = Code.PREDICT_FAILED, http_status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status


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
