"""hub install from a folder, a .tar.gz and a .zip; versions side by side; uninstall; requirements."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hubserving.errors import MissingRequirements
from hubserving.hub.pack import pack
from hubserving.hub.requirements import always, ensure_requirements, unmet
from tests.serverproc import hub_command, run_hub

TINY = Path(__file__).parent / "fixtures" / "hub" / "tiny"


def tiny_version(parent: Path, version: str) -> Path:
    """The tiny test module, rewritten to another version, in ``parent/tiny``."""
    folder = parent / "tiny"
    shutil.copytree(TINY, folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("module.py",):
        text = (folder / name).read_text(encoding="utf-8").replace("1.0.0", version)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def hub_ok(args: list[str], home: Path) -> str:
    result = run_hub(args, home)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_folder_tar_and_zip_install_side_by_side_and_resolve(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = tiny_version(tmp_path / "v1", "1.0.0")
    tar = pack(tiny_version(tmp_path / "v2", "1.1.0"), tmp_path / "dist").archive
    zipped = pack(tiny_version(tmp_path / "v3", "1.10.0"), tmp_path / "dist", "zip").archive

    assert hub_ok(["install", str(folder)], home).strip() == "Successfully installed tiny-1.0.0"
    assert "Successfully installed tiny-1.1.0" in hub_ok(["install", str(tar), str(zipped)], home)
    for version in ("1.0.0", "1.1.0", "1.10.0"):
        assert (home / "modules" / "tiny" / version / "helper.py").is_file()
    assert not (home / "modules" / "tiny" / "1.0.0" / "__pycache__").exists()

    newest = json.loads(hub_ok(["run", "tiny", "--input_text", "hi"], home))
    assert newest == {"version": "1.10.0", "text": "HI"}  # 1.10.0 > 1.1.0: versions, not strings
    chosen = json.loads(hub_ok(["run", "tiny==1.0.0", "--input_text", "hi"], home))
    assert chosen == {"version": "1.0.0", "text": "HI"}

    assert hub_ok(["uninstall", "tiny==1.1.0"], home).strip() == "Successfully uninstalled tiny-1.1.0"
    assert sorted(p.name for p in (home / "modules" / "tiny").iterdir()) == ["1.0.0", "1.10.0"]
    removed = hub_ok(["uninstall", "tiny"], home).splitlines()
    assert removed == ["Successfully uninstalled tiny-1.0.0", "Successfully uninstalled tiny-1.10.0"]
    assert not (home / "modules" / "tiny").exists()
    gone = run_hub(["uninstall", "tiny"], home)
    assert gone.returncode == 1 and "tiny is not installed" in gone.stderr


def test_installing_an_installed_name_says_so_and_a_folder_reinstall_replaces(tmp_path: Path) -> None:
    home = tmp_path / "home"
    hub_ok(["install", str(TINY)], home)
    again = hub_ok(["install", "tiny"], home).strip()
    assert again == f"Module tiny-1.0.0 already installed in {home / 'modules' / 'tiny' / '1.0.0'}"
    replaced = hub_ok(["install", str(TINY)], home)
    assert "Replaced the installed tiny-1.0.0" in replaced
    builtin = hub_ok(["install", "lac"], home)
    assert builtin.startswith("Module lac-2.2.0 already installed in") and "hubserving/modules/lac" in builtin


def test_a_bare_word_is_a_name_and_bad_targets_are_named(tmp_path: Path) -> None:
    home = tmp_path / "home"
    missing = run_hub(["install", "./no_such_folder"], home)
    assert missing.returncode == 1 and "./no_such_folder does not exist" in missing.stderr
    (tmp_path / "notes.txt").write_text("x")
    not_module = run_hub(["install", str(tmp_path / "notes.txt")], home)
    assert "is neither a module folder nor a .tar.gz, .tgz or .zip archive" in not_module.stderr
    no_source = run_hub(["install", "tiny"], home, cwd=TINY.parent)
    assert no_source.returncode == 1
    assert "Module tiny is not installed, and there is no module index to install it from" in no_source.stderr
    assert "HUB_MODULE_SOURCE" in no_source.stderr


def test_missing_requirements_are_named_and_nothing_is_installed_without_consent(tmp_path: Path) -> None:
    folder = tiny_version(tmp_path, "2.0.0")
    (folder / "requirements.txt").write_text(
        "# the module's own packages\npackaging>=20\nhubserving-no-such-package==1.0\n", encoding="utf-8"
    )
    home = tmp_path / "home"
    result = subprocess.run(
        hub_command("install", str(folder)),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,  # no terminal: no one to ask, so no
        env={**os.environ, "HUB_HOME": str(home)},
    )
    assert result.returncode == 1
    assert "tiny-2.0.0 needs Python packages that are not installed: hubserving-no-such-package==1.0" in (
        result.stderr
    )
    assert "install again with --yes" in result.stderr
    assert not (home / "modules" / "tiny").exists()


def test_consent_runs_pip_on_the_requirements_file(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "packaging>=20\nhubserving-no-such-package>=1\nnumpy<0.1 ; python_version < '3'\n"
    )
    assert unmet(requirements) == ["hubserving-no-such-package>=1"]
    commands: list[list[str]] = []

    def fake_pip(command: list[str]) -> int:
        commands.append(command)
        return 0

    ensure_requirements(tmp_path, "tiny-1.0.0", always, lambda _: None, fake_pip)
    assert commands == [[sys.executable, "-m", "pip", "install", "-r", str(requirements)]]
    with pytest.raises(MissingRequirements, match=r"pip could not install the requirements of tiny-1\.0\.0"):
        ensure_requirements(tmp_path, "tiny-1.0.0", always, lambda _: None, lambda command: 1)
    requirements.write_text("packaging>=20\n")
    ensure_requirements(tmp_path, "tiny-1.0.0", lambda question: pytest.fail("asked"), lambda _: None)
