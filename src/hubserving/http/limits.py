"""Bounds on what connections may hold: header and body deadlines, how many may be open, and the
process's descriptor limit, so slow or idle clients cannot use up the front's sockets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from hubserving.config import ServerConfig
from hubserving.errors import Code
from hubserving.http.asgi import Receive, Scope, Send, failure, request_id, respond

logger = logging.getLogger("hubserving.http")

OVER_LIMIT_STATUS, OVER_LIMIT = failure(
    Code.CONNECTION_LIMIT,
    "the server has too many open connections; retry shortly, or reuse one connection for several "
    "requests (the server's max_connections bounds them)",
)


@dataclass(frozen=True)
class ConnectionLimits:
    """``header_timeout_s``: from a request's first byte (or the connection's start) to its whole
    headers; ``body_timeout_s``: the longest pause inside a body; ``max_connections``: beyond it,
    a request is answered 503 and its connection closed."""

    header_timeout_s: float
    body_timeout_s: float
    max_connections: int

    @classmethod
    def from_config(cls, config: ServerConfig) -> ConnectionLimits:
        return cls(config.header_timeout_s, config.body_timeout_s, config.max_connections)


async def refuse_over_limit(scope: Scope, receive: Receive, send: Send) -> None:
    """The app a request gets when its connection is one too many: 503, then the connection closes."""
    headers = [(b"retry-after", b"1"), (b"connection", b"close"), (b"x-request-id", request_id(scope))]
    await respond(send, OVER_LIMIT_STATUS, OVER_LIMIT, headers)


def raise_open_file_limit() -> None:
    """Raise the soft limit on open descriptors to the hard limit: each connection holds one."""
    try:
        import resource
    except ImportError:  # Windows has no such limit to raise
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == hard:
        return  # macOS refuses an infinite soft limit; its default soft limit is then kept
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as error:
        logger.warning("could not raise the open-file limit from %d to %d: %s", soft, hard, error)
