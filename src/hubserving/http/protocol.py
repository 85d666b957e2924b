"""uvicorn's httptools protocol, with one fix: a request that offers an upgrade we do not take
(``Upgrade: h2c``, sent by ``curl --http2``, Java's RestClient and Ktor) is answered as plain
HTTP/1.1 with its body, as RFC 9110 section 7.8 allows. Stock uvicorn hands the app an empty body
(Kludex/uvicorn#2722, open). When llhttp stops at the upgrade, the request is replayed without the
offer into a fresh parser.
"""

from __future__ import annotations

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

OFFER_HEADERS = frozenset({b"upgrade", b"http2-settings"})
OFFER_TOKENS = frozenset({b"upgrade", b"http2-settings"})


class HttpProtocol(HttpToolsProtocol):
    """Serves requests that carry an unsupported ``Upgrade`` offer instead of dropping their bodies."""

    ignoring_upgrade = False
    offer_method = b"GET"

    def on_headers_complete(self) -> None:
        # llhttp decides on the upgrade only after this callback, so read the offer from the headers.
        if self._get_upgrade() is not None and not self._should_upgrade():
            self.ignoring_upgrade = True  # the request runs once replayed without the offer
            self.offer_method = self.parser.get_method()
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self.ignoring_upgrade:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self.ignoring_upgrade:
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
