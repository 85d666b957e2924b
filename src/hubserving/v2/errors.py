"""The one error of the Open Inference Protocol faces: a message and the HTTP status it is answered with.

HTTP sends ``{"error": message}`` with the status; gRPC sends the status code that matches it.
"""

from __future__ import annotations

from hubserving.errors import Code, HubServingError


class V2Error(HubServingError):
    """A V2 request that cannot be answered; ``status`` is its HTTP status (400 unless said)."""

    code = Code.INVALID_ARGUMENTS

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    @property
    def http_status(self) -> int:
        return self.status
