"""hub list, show, run and version as a user sees them; modules from a Python package's entry point."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest

from tests.serverproc import ServerProcess, free_port, run_hub

TINY = Path(__file__).parent / "fixtures" / "hub" / "tiny"


def test_list_is_a_table_with_built_ins_marked(hub_home: Path) -> None:
    result = run_hub(["list"], hub_home)
    assert result.returncode == 0, result.stderr
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    table = "\n".join(lines)
    assert lines[0].split() == ["Name", "Version", "Category", "Summary", "Location"]
    assert re.search(
        r"^echo\s+1\.0\.0\s+nlp\s+Echo texts back \(test module\)\s+\S+/modules/echo$", table, re.M
    )
    assert re.search(r"^lac\s+2\.2\.0\s+nlp\s+Baidu's LAC.*\s+built-in$", table, re.M)
    versions = [line.split()[1] for line in lines if line.startswith("versioned ")]
    assert versions == ["1.0.0", "1.2.0"]


def test_show_describes_the_module_and_its_serving_method(hub_home: Path) -> None:
    result = run_hub(["show", "echo"], hub_home)
    assert result.returncode == 0, result.stderr
    fields = dict(line.split(None, 1) for line in result.stdout.splitlines() if len(line.split(None, 1)) == 2)
    assert fields["Version"].strip() == "1.0.0" and fields["Type"].strip() == "nlp/test"
    assert (
        fields["Serving"].strip()
        == "Echo.echo(texts, upper=False, sleep_s=0.0, crash=False) (batches: texts)"
    )
    assert fields["Request"].strip() == "POST /predict/echo"
    older = run_hub(["show", "versioned==1.0.0"], hub_home)
    assert "Versions      1.0.0, 1.2.0" in older.stdout and "/versioned/1.0.0" in older.stdout


def test_a_broken_module_is_reported_with_its_own_traceback(hub_home: Path) -> None:
    for command in (["show", "broken"], ["run", "broken", "--input_text", "x"]):
        result = run_hub(command, hub_home)
        assert result.returncode == 1
        assert "hubserving: error: Module broken==0.1.0" in result.stderr
        assert f'File "{hub_home / "modules" / "broken" / "module.py"}", line 3, in <module>' in result.stderr
        assert "ModuleNotFoundError: No module named 'a_package_that_does_not_exist'" in result.stderr
        assert "importlib" not in result.stderr and "hubserving/module/loader.py" not in result.stderr


def test_run_passes_inputs_arguments_and_files(hub_home: Path, tmp_path: Path) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("first\n\nsecond\n", encoding="utf-8")
    result = run_hub(["run", "echo", "--input_file", str(texts), "--arg", "upper=true"], hub_home)
    assert result.returncode == 0, result.stderr
    assert [item["text"] for item in json.loads(result.stdout)] == ["FIRST", "SECOND"]
    folder = run_hub(["run", str(TINY), "--input_text", "a", "--input_text", "b"], hub_home)
    assert json.loads(folder.stdout) == [{"version": "1.0.0", "text": "A"}, {"version": "1.0.0", "text": "B"}]
    raised = run_hub(["run", "echo", "--input_text", "a", "--arg", "nope=1"], hub_home)
    assert raised.returncode == 1 and "unexpected keyword argument 'nope'" in raised.stderr
    empty = run_hub(["run", "echo"], hub_home)
    assert empty.returncode == 2 and "give --input_text TEXT or --input_file FILE" in empty.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("paddle") is None or importlib.util.find_spec("LAC") is None,
    reason="the lac extra is not installed",
)
def test_run_lac_prints_words_and_tags(hub_home: Path) -> None:
    result = run_hub(["run", "lac", "--input_text", "今天是个好日子"], hub_home, timeout_s=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"word": ["今天", "是", "个", "好日子"], "tag": ["TIME", "v", "q", "n"]}
    ]


def test_version(hub_home: Path) -> None:
    result = run_hub(["version"], hub_home)
    assert result.returncode == 0 and result.stdout.startswith("hubserving 0.1.0 (Python 3.")


def test_a_package_entry_point_module_is_listed_and_served(
    tmp_path: Path, hub_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real importlib.metadata entry point: a dist-info on the subprocesses' sys.path (as pip installs)."""
    site = tmp_path / "site"
    shutil.copytree(TINY, site / "tiny_package", ignore=shutil.ignore_patterns("__pycache__"))
    (site / "tiny_package" / "__init__.py").write_text("")
    module = site / "tiny_package" / "module.py"
    module.write_text(module.read_text(encoding="utf-8").replace('name="tiny"', 'name="packaged"'))
    dist_info = site / "tiny_package-3.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-package\nVersion: 3.0\n")
    (dist_info / "entry_points.txt").write_text("[hubserving.modules]\npackaged = tiny_package\n")
    monkeypatch.setenv("PYTHONPATH", str(site))

    listed = run_hub(["list"], hub_home)
    assert re.search(r"^packaged\s+1\.0\.0\s+nlp\s+.*package tiny-package\s*$", listed.stdout, re.M)
    refused = run_hub(["uninstall", "packaged"], hub_home)
    assert refused.returncode == 1
    assert "packaged comes from the Python package tiny-package: uninstall it with" in refused.stderr
    port = free_port()
    with ServerProcess(["-m", "packaged", "-p", str(port)], hub_home, port) as server:
        assert server.post("packaged", {"text": "pip"}).json()["results"] == {
            "version": "1.0.0",
            "text": "PIP",
        }


def test_a_bad_entry_point_is_reported_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hubserving.module.finder import discover

    dist_info = tmp_path / "bad_modules-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-modules\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        "[hubserving.test_group]\nmissing = no_such_package_here\nobject = json:loads\nplain = json\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    catalog = discover([], "hubserving.test_group")
    assert catalog.sources == []
    problems = "\n".join(catalog.problems)
    assert "entry point missing = 'no_such_package_here' of bad-modules: no_such_package_here is" in problems
    assert "must name a package (my_module), not an object" in problems
    assert "json" in problems and "has no module.py" in problems
