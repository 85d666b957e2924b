from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def hub_home(tmp_path: Path) -> Path:
    """A fresh ``$HUB_HOME`` holding the test modules."""
    home = tmp_path / "hub_home"
    shutil.copytree(FIXTURES / "modules", home / "modules")
    return home
