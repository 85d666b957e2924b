"""``SHA256SUMS`` for the committed model files: written by training, checked when the module loads."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

CHECKSUM_FILE = "SHA256SUMS"
RECOVERY_HINT = (
    "reinstall hubserving, or restore the folder from git, "
    "or re-train with: python -m training.senta_bilstm.train"
)


class ChecksumMismatch(RuntimeError):
    """A model file is missing or differs from the one that was trained and committed."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checksums(folder: Path, names: Iterable[str]) -> None:
    """Record the digest of each named file of ``folder`` (the ``sha256sum`` format)."""
    lines = [f"{sha256_of(folder / name)}  {name}\n" for name in sorted(names)]
    (folder / CHECKSUM_FILE).write_text("".join(lines), encoding="utf-8")


def read_checksums(folder: Path) -> dict[str, str]:
    """File name -> expected digest."""
    path = folder / CHECKSUM_FILE
    if not path.is_file():
        raise ChecksumMismatch(f"{path} is missing, so the model files cannot be verified; {RECOVERY_HINT}")
    expected: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        if line.strip():
            expected[name] = digest
    return expected


def verify_checksums(folder: Path) -> None:
    """Raise ``ChecksumMismatch`` naming the first file that is missing or changed."""
    for name, digest in read_checksums(folder).items():
        path = folder / name
        if not path.is_file():
            raise ChecksumMismatch(f"model file {path} is missing; {RECOVERY_HINT}")
        actual = sha256_of(path)
        if actual != digest:
            raise ChecksumMismatch(
                f"model file {path} is corrupt or was changed: its sha256 is {actual}, "
                f"{CHECKSUM_FILE} expects {digest}; {RECOVERY_HINT}"
            )
