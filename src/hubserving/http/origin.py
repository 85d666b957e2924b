"""Cross-site form posts: a browser sends a form (``multipart/form-data``, urlencoded, ``text/plain``)
to any site without asking CORS first, so the server itself refuses forms from foreign pages.

A form is allowed when it carries no ``Origin`` (not a browser, or a same-origin navigation of an
old browser), when its origin is allowed by ``--cors``, or when it is the server's own page
(the origin's host and port are the request's ``Host``).
"""

from __future__ import annotations

from hubserving.http.asgi import Scope, header

FORM_MEDIA_TYPES = frozenset({b"multipart/form-data", b"application/x-www-form-urlencoded", b"text/plain"})
DEFAULT_PORTS = {b"http": b"80", b"https": b"443"}


def is_cross_site_form(scope: Scope, media_type: bytes, allowed_origins: frozenset[bytes]) -> bool:
    """A form that a page of another origin, not allowed by ``--cors``, made the browser post."""
    if media_type not in FORM_MEDIA_TYPES:
        return False
    origin = header(scope, b"origin")
    if origin is None or origin in allowed_origins or b"*" in allowed_origins:
        return False
    return not is_same_origin(origin, header(scope, b"host") or b"")


def is_same_origin(origin: bytes, host: bytes) -> bool:
    """``Origin: http://h:p`` names the server the request came to (default ports ignored)."""
    scheme, separator, authority = origin.lower().partition(b"://")
    if not separator:
        return False  # "null": sandboxed frames, file:// pages
    default_port = DEFAULT_PORTS.get(scheme)
    return _without_port(authority, default_port) == _without_port(host.lower().strip(), default_port)


def _without_port(authority: bytes, default_port: bytes | None) -> bytes:
    if default_port is not None and authority.endswith(b":" + default_port):
        return authority[: -len(default_port) - 1]
    return authority
