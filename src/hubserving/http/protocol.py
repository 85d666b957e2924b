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
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ClassVar, cast

import httptools
from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from hubserving.config import ServerConfig
from hubserving.http.limits import ConnectionLimits, refuse_over_limit

OFFER_HEADERS = frozenset({b"upgrade", b"http2-settings"})
OFFER_TOKENS = frozenset({b"upgrade", b"http2-settings"})


class HttpProtocol(HttpToolsProtocol):
    """Serves requests that carry an unsupported ``Upgrade`` offer, and closes stalled connections.

    Use ``HttpProtocol.configured(config)`` as uvicorn's ``http`` class.
    """

    limits: ClassVar[ConnectionLimits]
    ignoring_upgrade = False
    offer_method = b"GET"
    deadline: asyncio.TimerHandle | None = None  # the header or the body deadline, whichever runs
    body_seen_at = 0.0  # loop time of the body's last bytes

    @classmethod
    def configured(cls, config: ServerConfig) -> type[HttpProtocol]:
        """This protocol with the config's connection limits: uvicorn builds protocols from a class."""
        return type(cls.__name__, (cls,), {"limits": ConnectionLimits.from_config(config)})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_timeout_s, self._headers_overdue)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.deadline is None:  # the next request of a kept-alive connection
            self._arm(self.limits.header_timeout_s, self._headers_overdue)

    def on_headers_complete(self) -> None:
        # llhttp decides on the upgrade only after this callback, so read the offer from the headers.
        if self._get_upgrade() is not None and not self._should_upgrade():
            self.ignoring_upgrade = True  # the request runs once replayed without the offer
            self.offer_method = self.parser.get_method()
            return
        self.body_seen_at = self.loop.time()
        self._arm(self.limits.body_timeout_s, self._body_check)
        if len(self.connections) > self.limits.max_connections:
            self._start_with(cast(ASGI3Application, refuse_over_limit))
        else:
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self.body_seen_at = self.loop.time()
        if not self.ignoring_upgrade:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self.ignoring_upgrade:
            self._disarm()
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

    def _arm(self, delay_s: float, callback: Callable[[], None]) -> None:
        self._disarm()
        self.deadline = self.loop.call_later(delay_s, callback)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _headers_overdue(self) -> None:
        self.deadline = None
        self.logger.debug("closing a connection whose request headers did not arrive in time")
        self.transport.close()

    def _body_check(self) -> None:
        self.deadline = None
        now = self.loop.time()
        if self.flow.read_paused:  # the server stopped reading: the pause is not the client's
            self.body_seen_at = now
        remaining_s = self.body_seen_at + self.limits.body_timeout_s - now
        if remaining_s > 0:
            self._arm(remaining_s, self._body_check)
        else:
            self.logger.debug("closing a connection whose request body stalled")
            self.transport.close()

    def handle_websocket_upgrade(self) -> None:
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
