"""Where LAC's trained model and dictionaries live: inside the installed ``LAC`` package.

The package is located, never imported: its Python wrapper imports ``paddle.fluid``,
which Paddle 3 no longer has.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = (
    'install it with: pip install --upgrade "pip>=25.3" && '
    'echo "setuptools<81" > /tmp/build-constraints.txt && '
    'PIP_BUILD_CONSTRAINT=/tmp/build-constraints.txt pip install "hubserving[lac]" '
    "(LAC's setup.py needs setuptools<81 to build)"
)


class LacNotInstalled(ImportError):
    """The ``LAC`` package, which carries the model files, is missing or incomplete."""


@dataclass(frozen=True)
class LacAssets:
    """Paths of one LAC model directory (``lac_model/``)."""

    root: Path

    @property
    def model_dir(self) -> Path:
        """The Paddle inference program (``__model__``) and its parameter files."""
        return self.root / "model"

    @property
    def word_dict(self) -> Path:
        return self.root / "conf" / "word.dic"

    @property
    def tag_dict(self) -> Path:
        return self.root / "conf" / "tag.dic"

    @property
    def q2b_dict(self) -> Path:
        """Character replacements (full-width to half-width, traditional to simplified)."""
        return self.root / "conf" / "q2b.dic"

    @property
    def segment_dict(self) -> Path:
        """Word list of the coarse pre-segmentation that feeds word-level ids to the model."""
        return self.root / "conf" / "small_seg.dic"

    def missing(self) -> list[Path]:
        """The files this module needs that are not there."""
        needed = [
            self.model_dir / "__model__",
            self.word_dict,
            self.tag_dict,
            self.q2b_dict,
            self.segment_dict,
        ]
        return [path for path in needed if not path.is_file()]


def find_lac_assets() -> LacAssets:
    """Locate ``lac_model/`` in the installed ``LAC`` package, or say how to install it."""
    spec = importlib.util.find_spec("LAC")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise LacNotInstalled(f"the lac module needs the LAC package (its model files); {INSTALL_HINT}")
    assets = LacAssets(Path(locations[0]) / "lac_model")
    missing = assets.missing()
    if missing:
        names = ", ".join(str(path) for path in missing)
        raise LacNotInstalled(
            f"the LAC package at {locations[0]} lacks {names}; reinstall it: {INSTALL_HINT}"
        )
    return assets
