"""One rule for module names and versions: a bad one is refused, in one line, before any file is written."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.version import Version

from hubserving.errors import ConfigError, InstallError, ModuleIndexError
from hubserving.hub.index import parse_index
from hubserving.hub.install import InstallOptions, install
from hubserving.hub.pack import pack
from hubserving.module.requirement import (
    Requirement,
    check_module_name,
    looks_like_folder,
    newest_matching,
    parse_requirement,
)
from hubserving.paths import HubHome
from tests.serverproc import run_hub

LONG_NAME = "a" * 300


def module_folder(parent: Path, name: str, version: str = "1.0.0") -> Path:
    """A module folder whose ``@moduleinfo`` says ``name`` and ``version``."""
    folder = parent / "source"
    folder.mkdir(parents=True)
    (folder / "module.py").write_text(
        "from hubserving import moduleinfo, serving\n\n\n"
        f"@moduleinfo(name={name!r}, version={version!r})\n"
        "class Evil:\n    @serving\n    def predict(self, text: str = '') -> str:\n        return text\n",
        encoding="utf-8",
    )
    return folder


def files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


@pytest.mark.parametrize("name_of", [lambda out: str(out / "victim"), lambda out: "../../../victim/x"])
def test_install_of_a_folder_whose_name_leaves_hub_home_writes_nothing(
    tmp_path: Path, name_of: Callable[[Path], str]
) -> None:
    home = tmp_path / "home"
    folder = module_folder(tmp_path, name_of(tmp_path))
    with pytest.raises(InstallError, match="cannot be a module name"):
        install(str(folder), InstallOptions(HubHome(home), say=lambda _: None))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source"]  # no victim, not even a staging folder


def test_pack_of_a_folder_whose_name_leaves_the_output_folder_writes_nothing(tmp_path: Path) -> None:
    folder = module_folder(tmp_path, str(tmp_path / "victim"))
    with pytest.raises(InstallError, match="cannot be a module name"):
        pack(folder, tmp_path / "dist")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("evil\n", "has spaces or line breaks around it"),
        (" evil", "has spaces or line breaks around it"),
        ("_hidden", "starts with '_'"),
        (LONG_NAME, "is 300 characters long"),
        ("a b", "has characters other than"),
    ],
    ids=["newline", "space", "underscore", "300-chars", "inner-space"],
)
def test_bad_names_are_refused_in_one_line_and_nothing_is_installed(
    tmp_path: Path, name: str, reason: str
) -> None:
    home = tmp_path / "home"
    result = run_hub(["install", str(module_folder(tmp_path, name))], home)
    assert result.returncode == 1
    assert result.stderr.startswith("hubserving: error: ") and result.stderr.count("\n") == 1
    assert "cannot be a module name" in result.stderr and reason in result.stderr
    assert files_under(home) == []
    packed = run_hub(["pack", str(tmp_path / "source"), "-o", str(tmp_path / "dist")], home)
    assert packed.returncode == 1 and reason in packed.stderr and not (tmp_path / "dist").exists()


@pytest.mark.parametrize("version", ["1.0.0\n", " 1.0.0", "not-a-version", "1" * 70])
def test_bad_versions_are_refused_before_anything_is_written(tmp_path: Path, version: str) -> None:
    home = tmp_path / "home"
    with pytest.raises(InstallError, match="is not a version"):
        install(str(module_folder(tmp_path, "fine", version)), InstallOptions(HubHome(home), say=print))
    assert files_under(home) == []


def test_a_300_character_name_or_path_on_the_command_line_is_one_clear_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for target, said in [(LONG_NAME, "is 300 characters long"), (f"./{LONG_NAME}", "File name too long")]:
        result = run_hub(["install", target], home, cwd=tmp_path)
        assert result.returncode in (1, 2), result.stderr
        assert result.stderr.startswith("hubserving: error: ") and result.stderr.count("\n") == 1
        assert said in result.stderr and "Traceback" not in result.stderr


def test_the_command_line_rule_is_the_same() -> None:
    assert parse_requirement(" lac == 2.2.0 ") == Requirement("lac", Version("2.2.0"))
    for bad in ("_x", LONG_NAME, "lac!", "../x", "/abs", "1abc"):
        with pytest.raises(ConfigError, match="is not a module name"):
            parse_requirement(bad)
    assert check_module_name("senta_bilstm-2.x", "test") == "senta_bilstm-2.x"


def test_an_index_entry_with_a_bad_name_or_version_is_refused() -> None:
    good = {"name": "tiny", "version": "1.0.0", "url": "tiny.tar.gz", "sha256": "a" * 64}
    assert parse_index({"modules": [good]}, "index.json")[0].info.name == "tiny"
    for bad in ({"name": "../x"}, {"name": "_x"}, {"version": "1.0 "}):
        with pytest.raises(ModuleIndexError, match=r"index\.json: modules\[0\]"):
            parse_index(json.loads(json.dumps({"modules": [{**good, **bad}]})), "index.json")


def test_looks_like_folder_is_one_rule() -> None:
    for folder in ("./x", "../x", "/srv/x", "~/x", "~x", f"models{os.sep}x", ".hidden"):
        assert looks_like_folder(folder), folder
    for name in ("lac", "lac==2.2.0", "senta_bilstm"):
        assert not looks_like_folder(name), name


def test_newest_matching_compares_versions_and_prefers_on_ties() -> None:
    candidates = [("1.10.0", "builtin"), ("1.9.0", "user"), ("1.10.0", "user")]

    def version_of(candidate: tuple[str, str]) -> Version:
        return Version(candidate[0])

    newest = newest_matching(Requirement("m"), candidates, version_of, lambda c: c[1] == "user")
    assert newest == ("1.10.0", "user")
    pinned = newest_matching(Requirement("m", Version("1.9")), candidates, version_of)
    assert pinned == ("1.9.0", "user")
    assert newest_matching(Requirement("m", Version("2.0")), candidates, version_of) is None
