"""Input bounds the built-in modules declare: each one an ``init_args`` key, shown by ``GET /modules``.

A bound keeps one request from taking a worker's memory or time without limit. Over it, the client gets
400 with a message naming the bound and the ``init_args`` key that raises it. Bounds count per input
(characters per text, pixels per image) or per call (texts, images), never a total over a call's inputs:
the server merges small requests into one call, up to the module's ``max_batch_size`` inputs, and a merged
call should not fail where its requests alone would pass. The default counts are far above any
``max_batch_size``; under a smaller one the server's retry of a failed merged call, request by request,
still answers each request as if it came alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from hubserving.errors import RequestError

DEFAULT_MAX_TEXTS = 10_000  # texts per request: seconds of work; a PaddleHub client sends far fewer
DEFAULT_MAX_IMAGES = 1_000  # images per request; the body limit (64 MB by default) binds first for photos


def init_count(module: str, name: str, value: object, maximum: int | None = None) -> int:
    """An ``init_args`` value that must be an integer from 1 (to ``maximum``); ``ValueError`` otherwise."""
    too_big = maximum is not None and isinstance(value, int) and value > maximum
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or too_big:
        upto = f" from 1 to {maximum}" if maximum is not None else ""
        raise ValueError(f"{module}: init_args {name} must be a positive integer{upto}, got {value!r}")
    return value


@dataclass(frozen=True)
class Bound:
    """At most ``limit`` ``unit`` (e.g. "characters") ``scope`` (e.g. "per text"); ``init_arg`` sets it."""

    init_arg: str
    limit: int
    unit: str
    scope: str

    @classmethod
    def from_init_arg(cls, module: str, init_arg: str, value: object, unit: str, scope: str) -> Bound:
        """The bound an ``init_args`` value sets; a value that is not a positive integer fails the load."""
        return cls(init_arg, init_count(module, init_arg, value), unit, scope)

    def check(self, module: str, subject: str, count: int) -> None:
        """Refuse ``count`` over the limit: ``subject`` names what holds them ("texts[3]", "the request")."""
        if count > self.limit:
            raise RequestError(
                f"{module}: {subject} has {count:,} {self.unit}, over this module's limit of "
                f"{self.limit:,} {self.unit} {self.scope} (init_args {self.init_arg}); split the input, "
                f"or raise {self.init_arg} in this module's init_args in the server's config"
            )


def describe(*bounds: Bound) -> dict[str, int]:
    """``{"max_texts": 10000, ...}``: what ``serving_details()`` shows under ``"limits"``."""
    return {bound.init_arg: bound.limit for bound in bounds}
