"""A folder of archives plus ``hub index build`` is a module hub, over HTTP (loopback) or as files."""

from __future__ import annotations

import functools
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hubserving.hub.pack import pack
from tests.serverproc import ServerProcess, free_port, run_hub

TINY = Path(__file__).parent / "fixtures" / "hub" / "tiny"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hub_folder(tmp_path: Path) -> Path:
    """Archives of tiny 1.0.0 and 1.2.0 and their index.json."""
    folder = tmp_path / "hub"
    for version in ("1.0.0", "1.2.0"):
        source = tmp_path / version / "tiny"
        shutil.copytree(TINY, source, ignore=shutil.ignore_patterns("__pycache__"))
        module = source / "module.py"
        module.write_text(module.read_text(encoding="utf-8").replace("1.0.0", version), encoding="utf-8")
        pack(source, folder)
    built = run_hub(["index", "build", str(folder)], tmp_path / "unused")
    assert built.returncode == 0, built.stderr
    assert f"Wrote {folder / 'index.json'} (2 modules)." in built.stdout
    return folder


@pytest.fixture
def http_hub(hub_folder: Path) -> Iterator[str]:
    """The folder served by a real HTTP server on a free loopback port."""
    handler = functools.partial(QuietHandler, directory=str(hub_folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_index_lists_name_version_url_and_sha256(hub_folder: Path) -> None:
    index = json.loads((hub_folder / "index.json").read_text(encoding="utf-8"))
    assert index["format"] == 1
    assert [(m["name"], m["version"], m["url"]) for m in index["modules"]] == [
        ("tiny", "1.0.0", "tiny-1.0.0.tar.gz"),
        ("tiny", "1.2.0", "tiny-1.2.0.tar.gz"),
    ]
    sha = (hub_folder / "tiny-1.2.0.tar.gz.sha256").read_text().split()[0]
    assert index["modules"][1]["sha256"] == sha and index["modules"][1]["summary"].startswith("reports")


def test_install_over_http_picks_the_newest_or_the_pinned_version(http_hub: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    newest = run_hub(["install", "tiny", "--source", http_hub], home)
    assert newest.returncode == 0, newest.stderr
    assert f"Installing tiny-1.2.0 from {http_hub}tiny-1.2.0.tar.gz" in newest.stdout
    assert "Successfully installed tiny-1.2.0" in newest.stdout
    assert "Downloading tiny-1.2.0" in newest.stderr  # the progress bar
    pinned = run_hub(["install", "tiny==1.0.0", "--source", http_hub + "index.json"], home)
    assert pinned.returncode == 0 and "Successfully installed tiny-1.0.0" in pinned.stdout
    assert sorted(p.name for p in (home / "modules" / "tiny").iterdir()) == ["1.0.0", "1.2.0"]
    unknown = run_hub(["install", "tiny==9.9", "--source", http_hub], home)
    assert unknown.returncode == 1
    assert "tiny==9.9 is not in the index at" in unknown.stderr and "1.0.0, 1.2.0" in unknown.stderr


def test_install_from_a_file_index_and_the_configured_default_source(
    hub_folder: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    by_file = run_hub(["install", "tiny==1.0.0", "--source", str(hub_folder / "index.json")], home)
    assert by_file.returncode == 0 and "Successfully installed tiny-1.0.0" in by_file.stdout
    (home / "config.json").write_text(json.dumps({"module_source": str(hub_folder)}), encoding="utf-8")
    by_config = run_hub(["install", "tiny==1.2.0"], home)
    assert by_config.returncode == 0 and "Successfully installed tiny-1.2.0" in by_config.stdout


def test_a_checksum_mismatch_from_the_index_installs_nothing(
    http_hub: str, hub_folder: Path, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    index_path = hub_folder / "index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    index["modules"][1]["sha256"] = "f" * 64
    index_path.write_text(json.dumps(index), encoding="utf-8")
    home = tmp_path / "home"
    result = run_hub(["install", "tiny", "--source", http_hub], home)
    assert result.returncode == 1
    assert "has sha256" in result.stderr and "but the index says ffff" in result.stderr
    assert "nothing was installed" in result.stderr
    assert list((home / "modules").iterdir()) == []  # no module, no staging folder left


def test_search_shows_installed_and_index_modules(http_hub: str, hub_home: Path) -> None:
    result = run_hub(["search", "report", "--source", http_hub], hub_home)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Name", "Version", "Category", "Summary", "Location"]
    rows = {tuple(line.split()[:2]): line for line in lines[2:]}
    assert rows[("tiny", "1.2.0")].rstrip().endswith("index (not installed)")
    assert "reports its version" in rows[("versioned", "1.0.0")]
    assert ("echo", "1.0.0") not in rows  # "Echo texts back": no "report" in it
    nothing = run_hub(["search", "zzz-no-match"], hub_home)
    assert nothing.returncode == 0 and nothing.stdout.strip() == "No module matches 'zzz-no-match'."


def test_serving_start_installs_a_missing_module_from_the_default_source(
    http_hub: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_MODULE_SOURCE", http_hub)
    home = tmp_path / "home"
    port = free_port()
    with ServerProcess(["-m", "tiny==1.0.0", "-p", str(port)], home, port) as server:
        response = server.post("tiny", {"text": "ok"})
        assert response.json()["results"] == {"version": "1.0.0", "text": "OK"}
        said = server.output()
    assert (
        f"Module tiny==1.0.0 is not installed; installing it from the default module source {http_hub}"
        in said
    )
    assert "Successfully installed tiny-1.0.0" in said
    assert (home / "modules" / "tiny" / "1.0.0" / "module.py").is_file()
