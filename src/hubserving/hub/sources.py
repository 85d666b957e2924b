"""Where module indexes come from: ``--source``, ``$HUB_MODULE_SOURCE``, or ``module_source`` in
``$HUB_HOME/config.json``; a source is an ``http(s)://`` URL, a ``file://`` URL, a folder or a file path.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import httpx

from hubserving.errors import ConfigError, ModuleIndexError
from hubserving.hub.index import INDEX_FILE, IndexEntry, parse_index
from hubserving.paths import HubHome

SOURCE_ENV = "HUB_MODULE_SOURCE"
CONFIG_FILE = "config.json"
CONFIG_KEY = "module_source"
HTTP_TIMEOUT_S = 30.0


def configured_source(home: HubHome, environ: Mapping[str, str] | None = None) -> str | None:
    """The default source: ``$HUB_MODULE_SOURCE``, else ``module_source`` in ``$HUB_HOME/config.json``."""
    env = os.environ if environ is None else environ
    if env.get(SOURCE_ENV):
        return env[SOURCE_ENV]
    path = home.root / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} is not valid JSON: {error}") from None
    value = data.get(CONFIG_KEY) if isinstance(data, dict) else None
    if value is not None and not isinstance(value, str):
        raise ConfigError(f'{path}: "{CONFIG_KEY}" must be a URL or a folder, as a string')
    return value or None


@dataclass(frozen=True)
class Source:
    """An index's location: a URL (``remote``) or a local file."""

    index: str
    remote: bool

    def locate(self, url: str) -> Source:
        """Where an entry's archive is: absolute, or relative to the index."""
        if _is_http(url):
            return Source(url, True)
        if url.startswith("file:"):
            return Source(_file_url_path(url), False)
        if self.remote:
            return Source(urljoin(self.index, url), True)
        return Source(str(Path(self.index).parent / url), False)

    def __str__(self) -> str:
        return self.index


def _is_http(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _file_url_path(url: str) -> str:
    return unquote(urlparse(url).path)


def source_from_text(text: str) -> Source:
    """A source as the user gave it: an index URL or file, or where ``index.json`` is (URL or folder)."""
    if _is_http(text):
        path = urlparse(text).path
        return Source(text if path.endswith(".json") else text.rstrip("/") + "/" + INDEX_FILE, True)
    local = Path(_file_url_path(text) if text.startswith("file:") else text).expanduser()
    return Source(str(local / INDEX_FILE if local.is_dir() else local), False)


def http_client() -> httpx.Client:
    return httpx.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=True)


def load_index(source: Source) -> list[IndexEntry]:
    """Fetch and parse the index; ModuleIndexError saying what went wrong where."""
    try:
        if source.remote:
            with http_client() as client:
                response = client.get(source.index)
                response.raise_for_status()
                text = response.text
        else:
            text = Path(source.index).read_text(encoding="utf-8")
        data = json.loads(text)
    except httpx.HTTPStatusError as error:
        raise ModuleIndexError(
            f"cannot read the module index {source}: HTTP {error.response.status_code}"
        ) from None
    except httpx.HTTPError as error:
        raise ModuleIndexError(f"cannot reach the module index {source}: {error}") from None
    except FileNotFoundError:
        raise ModuleIndexError(
            f"no module index at {source}: make one with `hub index build <folder>`"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ModuleIndexError(f"cannot read the module index {source}: {error}") from None
    except ValueError as error:
        raise ModuleIndexError(f"the module index {source} is not valid JSON: {error}") from None
    return parse_index(data, str(source))
