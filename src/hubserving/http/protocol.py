"""uvicorn's httptools protocol, with two fixes.

Upgrade offers: a request that offers an upgrade we do not take (``Upgrade: h2c``, sent by
``curl --http2``, Java's RestClient and Ktor) is answered as plain HTTP/1.1 with its body, as RFC
9110 section 7.8 allows. Stock uvicorn hands the app an empty body (Kludex/uvicorn#2722, open).
When llhttp stops at the upgrade, the request is replayed without the offer into a fresh parser.

Slow and idle clients: stock uvicorn keeps a connection that never completes its headers, or stalls
inside a body, open for good. Here a connection must send whole headers within
``header_timeout_s`` of its start (or of the next request's first byte), and a body may pause at
most ``body_timeout_s``; a request on a connection beyond ``max_connections`` is answered 503 with
the envelope. (uvicorn's ``limit_concurrency`` answers plain text without ``Retry-After``.)
A connection holds one deadline timer, re-armed when it fires rather than on every request: two
timers made and cancelled per request cost more than the rest of the connection handling.

One write per response: uvicorn writes a response's head and its body with two system calls (two
TCP segments, each waking the client); here the head waits for the body and both leave together.
"""

from __future__ import annotations

import asyncio
import enum
from typing import Any, ClassVar, cast

import httptools
from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from hubserving.config import ServerConfig
from hubserving.http.limits import ConnectionLimits, refuse_over_limit

OFFER_HEADERS = frozenset({b"upgrade", b"http2-settings"})
OFFER_TOKENS = frozenset({b"upgrade", b"http2-settings"})


class Phase(enum.Enum):
    """Which deadline a connection is under."""

    HEADERS = "headers"  # from its start, or the next request's first byte, to the whole headers
    BODY = "body"  # the longest pause inside a request body
    IDLE = "idle"  # a request being answered, or keep-alive between requests: uvicorn's own timeout


class HttpProtocol(HttpToolsProtocol):
    """Serves requests that carry an unsupported ``Upgrade`` offer, and closes stalled connections.

    Use ``HttpProtocol.configured(config)`` as uvicorn's ``http`` class.
    """

    limits: ClassVar[ConnectionLimits]
    ignoring_upgrade = False
    offer_method = b"GET"
    phase = Phase.HEADERS
    phase_since = 0.0  # loop time the phase began (for a body: of its last bytes)
    deadline: asyncio.TimerHandle | None = None  # fires at deadline_at, then checks the phase
    deadline_at = 0.0

    @classmethod
    def configured(cls, config: ServerConfig) -> type[HttpProtocol]:
        """This protocol with the config's connection limits: uvicorn builds protocols from a class."""
        return type(cls.__name__, (cls,), {"limits": ConnectionLimits.from_config(config)})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._enter(Phase.HEADERS, self.limits.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.phase is Phase.IDLE:  # the next request of a kept-alive connection
            self._enter(Phase.HEADERS, self.limits.header_timeout_s)

    def on_headers_complete(self) -> None:
        # llhttp decides on the upgrade only after this callback, so read the offer from the headers.
        if self._get_upgrade() is not None and not self._should_upgrade():
            self.ignoring_upgrade = True  # the request runs once replayed without the offer
            self.offer_method = self.parser.get_method()
            return
        self._enter(Phase.BODY, self.limits.body_timeout_s)
        previous = self.cycle
        if len(self.connections) > self.limits.max_connections:
            self._start_with(cast(ASGI3Application, refuse_over_limit))
        else:
            super().on_headers_complete()
        if self.cycle is not previous and self.scope["method"] != "HEAD":  # HEAD: no body to wait for
            self.cycle.transport = cast(asyncio.Transport, HeadWithBody(self.transport, self.cycle))

    def on_body(self, body: bytes) -> None:
        if self.phase is Phase.BODY:
            self.phase_since = self.loop.time()
        if not self.ignoring_upgrade:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self.ignoring_upgrade:
            self.phase = Phase.IDLE
            super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if not self.ignoring_upgrade:
            try:
                self.parser.feed_data(data)
                return
            except httptools.HttpParserUpgrade as upgrade:
                if not self.ignoring_upgrade:
                    return self._take_upgrade()
                data = data[upgrade.args[0] :]
            except httptools.HttpParserError:
                self.send_400_response("Invalid HTTP request received.")
                return
        self._replay_without_offer(data)

    def _start_with(self, app: ASGI3Application) -> None:
        """Run this request with ``app`` instead of the server's (uvicorn reads ``self.app``)."""
        own, self.app = self.app, app
        try:
            super().on_headers_complete()
        finally:
            self.app = own

    def _enter(self, phase: Phase, timeout_s: float) -> None:
        """Start a phase; the timer moves only when it would fire after the phase's deadline."""
        now = self.loop.time()
        self.phase, self.phase_since = phase, now
        if self.deadline is None or self.deadline_at > now + timeout_s:
            self._arm_at(now + timeout_s)

    def _arm_at(self, when: float) -> None:
        self._disarm()
        self.deadline_at = when
        self.deadline = self.loop.call_at(when, self._deadline_reached)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _deadline_reached(self) -> None:
        """The timer fired: close the connection if its phase is overdue, else wait for the phase's end."""
        self.deadline = None
        if self.phase is Phase.IDLE:
            return
        now = self.loop.time()
        if self.phase is Phase.HEADERS:
            due = self.phase_since + self.limits.header_timeout_s
        else:
            if self.flow.read_paused:  # the server stopped reading: the pause is not the client's
                self.phase_since = now
            due = self.phase_since + self.limits.body_timeout_s
        if due > now:
            self._arm_at(due)
            return
        what = "request headers did not arrive" if self.phase is Phase.HEADERS else "request body stalled"
        self.logger.debug("closing a connection whose %s in time", what)
        self.transport.close()

    def handle_websocket_upgrade(self) -> None:
        self.phase = Phase.IDLE
        self._disarm()  # the connection is the WebSocket protocol's from here on
        super().handle_websocket_upgrade()

    def _take_upgrade(self) -> None:
        if self._should_upgrade():
            self.handle_websocket_upgrade()
        else:
            self._unsupported_upgrade_warning()

    def _replay_without_offer(self, rest: bytes) -> None:
        """Feed a fresh parser the same request minus its upgrade offer, then what followed the headers."""
        lines = [self.offer_method + b" " + self.url + b" HTTP/1.1"]
        for name, value in self.headers:
            if name in OFFER_HEADERS:
                continue
            if name == b"connection":
                tokens = [t.strip() for t in value.split(b",") if t.strip().lower() not in OFFER_TOKENS]
                if not tokens:
                    continue
                value = b", ".join(tokens)
            lines.append(name + b": " + value)
        self.ignoring_upgrade = False
        self.parser = httptools.HttpRequestParser(self)
        self.data_received(b"\r\n".join(lines) + b"\r\n\r\n" + rest)


class HeadWithBody:
    """One response's transport, as uvicorn's ``RequestResponseCycle`` sees it: the status line and
    headers are held until the first body bytes, and both go out in one write.

    Only the first write after the response started is held (a ``100 Continue`` goes out at once);
    closing sends what is held. HEAD responses, which write no body, are not wrapped.
    """

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        self.transport = transport
        self.cycle = cycle
        self.head: bytes | None = None
        self.head_seen = False

    def write(self, data: bytes) -> None:
        if self.head is not None:
            head, self.head = self.head, None
            self.transport.writelines((head, data))
        elif not self.head_seen and self.cycle.response_started:
            self.head_seen = True
            self.head = data
        else:
            self.transport.write(data)

    def close(self) -> None:
        if self.head is not None:
            head, self.head = self.head, None
            self.transport.write(head)
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)
