"""Fetch an archive (HTTP or local file) into a folder with a progress bar, hashing it on the way."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from hubserving.errors import ChecksumMismatch, ModuleIndexError
from hubserving.hub.archive import CHUNK_BYTES
from hubserving.hub.console import stderr_console
from hubserving.hub.sources import Source, http_client


def fetch(source: Source, destination: Path, label: str, expected_sha256: str) -> None:
    """Copy ``source`` to ``destination``; ChecksumMismatch when its sha256 is not ``expected_sha256``."""
    try:
        if source.remote:
            with http_client() as client, client.stream("GET", source.index) as response:
                response.raise_for_status()
                total = int(response.headers.get("content-length", 0)) or None
                digest = _save(response.iter_bytes(CHUNK_BYTES), total, destination, label)
        else:
            path = Path(source.index)
            with path.open("rb") as stream:
                digest = _save(
                    iter(lambda: stream.read(CHUNK_BYTES), b""), path.stat().st_size, destination, label
                )
    except httpx.HTTPStatusError as error:
        raise ModuleIndexError(f"cannot download {source}: HTTP {error.response.status_code}") from None
    except httpx.HTTPError as error:
        raise ModuleIndexError(f"cannot download {source}: {error}") from None
    except FileNotFoundError:
        raise ModuleIndexError(f"the index lists {source}, but there is no such file") from None
    if digest != expected_sha256:
        raise ChecksumMismatch(
            f"{label} from {source} has sha256 {digest}, but the index says {expected_sha256}: "
            "the download is damaged or the index is stale (rebuild it with `hub index build`); "
            "nothing was installed"
        )


def _save(chunks: Iterator[bytes], total: int | None, destination: Path, label: str) -> str:
    digest = hashlib.sha256()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr_console()) as progress, destination.open("xb") as output:
        task = progress.add_task(f"Downloading {label}", total=total)
        for chunk in chunks:
            output.write(chunk)
            digest.update(chunk)
            progress.advance(task, len(chunk))
    return digest.hexdigest()
