"""docs/modules.md end to end: the example module tested, packed, installed, served, and kept while in use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.serverproc import ServerProcess, free_port, run_hub

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "my_module"


def hub_ok(args: list[str], home: Path, cwd: Path = ROOT) -> str:
    result = run_hub(args, home, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_example_module_s_own_tests_pass() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "examples/my_module"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_packed_installed_served_and_not_uninstalled_while_served(tmp_path: Path) -> None:
    home = tmp_path / "home"
    tried = hub_ok(["run", "./examples/my_module", "--input_text", "the cat and the hat"], home)
    assert json.loads(tried) == [{"chars": 19, "words": 5, "top": [["the", 2], ["cat", 1], ["and", 1]]}]

    packed = hub_ok(["pack", "examples/my_module", "-o", str(tmp_path / "dist")], home)
    archive = tmp_path / "dist" / "my_module-1.0.0.tar.gz"
    assert packed.splitlines()[0] == f"Packed my_module-1.0.0 (5 files) into {archive}"
    assert hub_ok(["install", str(archive)], home).strip() == "Successfully installed my_module-1.0.0"
    installed = home / "modules" / "my_module" / "1.0.0"
    assert sorted(p.name for p in installed.iterdir()) == [
        "__init__.py",
        "counting.py",
        "hubmodule.json",
        "module.py",
        "test_my_module.py",
    ]

    port = free_port()
    with ServerProcess(["-m", "my_module", "-p", str(port)], home, port) as server:
        body = {"texts": ["the cat and the hat", "Hello"], "top_k": 1}
        assert server.post("my_module", body).json() == {
            "msg": "",
            "results": [
                {"chars": 19, "words": 5, "top": [["the", 2]]},
                {"chars": 5, "words": 1, "top": [["hello", 1]]},
            ],
            "status": "0",
        }
        refused = run_hub(["uninstall", "my_module"], home)
        assert refused.returncode == 1
        assert (
            f"my_module==1.0.0 is in use by the running server on port {port} (pid {server.process.pid}): "
            f"stop it first (hub serving stop --port {port}), unload it from a server started with --admin "
            f"(hub serving unload --port {port} -m my_module), or add --force" in refused.stderr
        )
        assert (installed / "module.py").is_file()
        assert server.post("my_module", {"text": ["still here"]}).json()["status"] == "0"
        stopped = run_hub(["serving", "stop", "--port", str(port)], home)
        assert stopped.stdout.strip() == "PaddleHub Serving will stop."
        server.process.wait(timeout=30)
    assert hub_ok(["uninstall", "my_module"], home).strip() == "Successfully uninstalled my_module-1.0.0"
    assert not (home / "modules" / "my_module").exists()


def test_force_uninstalls_a_module_in_use_with_a_warning(hub_home: Path) -> None:
    port = free_port()
    with ServerProcess(["-m", "versioned==1.0.0", "-p", str(port)], hub_home, port) as server:
        forced = run_hub(["uninstall", "versioned==1.0.0", "--force"], hub_home)
        assert forced.returncode == 0, forced.stderr
        assert (
            "hubserving: warning: versioned==1.0.0 is in use by the running server on port" in forced.stderr
        )
        assert forced.stdout.strip() == "Successfully uninstalled versioned-1.0.0"
        assert server.post("versioned", {"value": 1}).json()["results"] == {"version": "1.0.0", "value": 1}
    assert (hub_home / "modules" / "versioned" / "1.2.0").is_dir()
