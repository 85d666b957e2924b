"""Checks of the arguments image modules take, with messages that name the module and the value.

A wrong value raises ``TypeError`` or ``ValueError``: the server answers 400 with the message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hubserving.vision.images import DEFAULT_MAX_PIXELS, DecodeLimits

MAX_THREADS = 256


def image_list(module: str, images: object) -> list[str]:
    """The request's ``images`` as a list (one string is taken as a list of one)."""
    if isinstance(images, str):
        return [images]
    if not isinstance(images, list | tuple):
        raise TypeError(
            f'{module}: images must be a list of base64 strings, e.g. {{"images": ["/9j/4AAQ..."]}}, '
            f"got {type(images).__name__}"
        )
    return list(images)


def require_bool(module: str, name: str, value: object) -> bool:
    """``value`` itself, refusing ``"false"``, ``0`` and the like."""
    if not isinstance(value, bool):
        raise TypeError(f"{module}: {name} must be true or false, got {value!r}")
    return value


def require_fraction(module: str, name: str, value: object) -> float:
    """A number from 0 to 1 (a score threshold)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{module}: {name} must be a number from 0 to 1, got {value!r}")
    return float(value)


def require_positive(module: str, name: str, value: object) -> float:
    """A number above 0 (a ratio)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value < float("inf"):
        raise ValueError(f"{module}: {name} must be a number above 0, got {value!r}")
    return float(value)


def require_count(module: str, name: str, value: object, maximum: int) -> int:
    """An integer from 1 to ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ValueError(f"{module}: {name} must be an integer from 1 to {maximum}, got {value!r}")
    return value


@dataclass(frozen=True)
class VisionSettings:
    """The ``init_args`` every image module takes, checked once when it loads."""

    num_threads: int = 1
    limits: DecodeLimits = field(default_factory=DecodeLimits)
    output_dir: Path | None = None

    @classmethod
    def from_init_args(
        cls,
        module: str,
        num_threads: object = 1,
        max_pixels: object = DEFAULT_MAX_PIXELS,
        output_dir: object = None,
    ) -> VisionSettings:
        """Check the values a config file gave; a bad one raises ``ValueError`` naming it."""
        threads = require_count(module, "init_args num_threads", num_threads, MAX_THREADS)
        try:
            limits = DecodeLimits(max_pixels)  # type: ignore[arg-type]  # checked by DecodeLimits
        except ValueError as error:
            raise ValueError(f"{module}: init_args {error}") from None
        if output_dir is not None and not isinstance(output_dir, str):
            raise ValueError(f"{module}: init_args output_dir must be a folder path, got {output_dir!r}")
        return cls(threads, limits, Path(output_dir) if output_dir else None)
