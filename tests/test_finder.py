from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hubserving.errors import ModuleNotFound
from hubserving.module.finder import BUILTIN_DIR, discover, read_module_info, source_from_directory
from hubserving.module.requirement import parse_requirement

FIXTURES = Path(__file__).parent / "fixtures" / "modules"


def catalog():  # type: ignore[no-untyped-def]
    return discover([(BUILTIN_DIR, True), (FIXTURES, False)])


def test_no_version_picks_the_newest() -> None:
    assert catalog().resolve(parse_requirement("versioned")).info.version == "1.2.0"


def test_exact_version_picks_that_one() -> None:
    source = catalog().resolve(parse_requirement("versioned==1.0.0"))
    assert source.info.version == "1.0.0" and source.directory.name == "1.0.0"


def test_unknown_version_lists_installed_versions() -> None:
    with pytest.raises(ModuleNotFound, match=r"versioned==9\.0\.0 is not installed.*1\.0\.0, 1\.2\.0"):
        catalog().resolve(parse_requirement("versioned==9.0.0"))


def test_unknown_module_lists_what_is_installed() -> None:
    with pytest.raises(
        ModuleNotFound, match=r"Module nothere is not installed\. Installed modules:.*echo==1\.0\.0"
    ):
        catalog().resolve(parse_requirement("nothere"))


def test_builtin_lac_is_found_without_importing_paddle() -> None:
    source = catalog().resolve(parse_requirement("lac"))
    assert source.builtin and source.info.category == "nlp"
    script = (
        "import sys; from hubserving.module.finder import module_catalog;"
        "from hubserving.paths import HubHome;"
        "from hubserving.module.requirement import parse_requirement as p;"
        "module_catalog(HubHome.from_env()).resolve(p('lac')); print(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('paddle', 'numpy', 'LAC')))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_metadata_is_read_statically(tmp_path: Path) -> None:
    (tmp_path / "module.py").write_text(
        "import not_installed_anywhere\nfrom hubserving import moduleinfo\n"
        "@moduleinfo(name='x', version='0.3', type='cv/classification')\nclass X: pass\n",
        encoding="utf-8",
    )
    info = read_module_info(tmp_path)
    assert (info.name, info.version, info.category) == ("x", "0.3", "cv")


def test_folder_without_module_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ModuleNotFound, match=r"has no module\.py"):
        source_from_directory(tmp_path)
