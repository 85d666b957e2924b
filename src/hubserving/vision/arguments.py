"""Checks of the arguments image modules take, with messages that name the module and the value.

The server checks each argument's type against the serving method's hints before the call; these check
values. A request's bad value raises ``RequestError`` (the client gets 400 and the message); a bad
``init_args`` value raises ``ValueError`` when the module loads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from hubserving.errors import RequestError
from hubserving.modules.bounds import DEFAULT_MAX_IMAGES, Bound, describe, init_count
from hubserving.vision.images import DEFAULT_MAX_PIXELS, DecodeLimits

MAX_THREADS = 256


def require_fraction(module: str, name: str, value: float) -> float:
    """A number from 0 to 1 (a score threshold)."""
    if not 0.0 <= value <= 1.0:
        raise RequestError(f"{module}: {name} must be a number from 0 to 1, got {value!r}")
    return float(value)


def require_positive(module: str, name: str, value: float) -> float:
    """A finite number above 0 (a ratio)."""
    if not (value > 0.0 and math.isfinite(value)):
        raise RequestError(f"{module}: {name} must be a number above 0, got {value!r}")
    return float(value)


def require_count(module: str, name: str, value: int, maximum: int) -> int:
    """An integer from 1 to ``maximum``."""
    if not 1 <= value <= maximum:
        raise RequestError(f"{module}: {name} must be an integer from 1 to {maximum}, got {value!r}")
    return value


@dataclass(frozen=True)
class VisionSettings:
    """The ``init_args`` every image module takes, checked once when it loads."""

    module: str
    num_threads: int
    limits: DecodeLimits
    max_images: Bound
    output_dir: Path | None

    @classmethod
    def from_init_args(
        cls,
        module: str,
        num_threads: object = 1,
        max_pixels: object = DEFAULT_MAX_PIXELS,
        output_dir: object = None,
        max_images: object = DEFAULT_MAX_IMAGES,
    ) -> VisionSettings:
        """Check the values a config file gave; a bad one raises ``ValueError`` naming it."""
        threads = init_count(module, "num_threads", num_threads, MAX_THREADS)
        try:
            limits = DecodeLimits(max_pixels)  # type: ignore[arg-type]  # checked by DecodeLimits
        except ValueError as error:
            raise ValueError(f"{module}: init_args {error}") from None
        if output_dir is not None and not isinstance(output_dir, str):
            raise ValueError(f"{module}: init_args output_dir must be a folder path, got {output_dir!r}")
        bound = Bound.from_init_arg(module, "max_images", max_images, "images", "per request")
        return cls(module, threads, limits, bound, Path(output_dir) if output_dir else None)

    def image_list(self, images: str | list[str]) -> list[str]:
        """The request's ``images`` as a list (one string is a list of one), within ``max_images``."""
        items = [images] if isinstance(images, str) else list(images)
        self.max_images.check(self.module, "the request", len(items))
        return items

    def details(self) -> dict[str, object]:
        """What ``GET /modules`` shows of these settings: the input bounds, by ``init_args`` key."""
        return {"limits": {**describe(self.max_images), "max_pixels": self.limits.max_pixels}}
