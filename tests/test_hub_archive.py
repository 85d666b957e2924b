"""Archives cannot write outside their target; a damaged or tampered archive installs nothing."""

from __future__ import annotations

import io
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from hubserving.errors import ArchiveError, ChecksumMismatch, ConfigError
from hubserving.hub.archive import ArchiveLimits, extract
from hubserving.hub.install import InstallOptions, install
from hubserving.hub.pack import pack
from hubserving.paths import HubHome
from tests.serverproc import run_hub

TINY = Path(__file__).parent / "fixtures" / "hub" / "tiny"
MODULE_PY = (TINY / "module.py").read_bytes()


def tar_with(path: Path, bad: tarfile.TarInfo, data: bytes = b"") -> Path:
    """A .tar.gz holding a valid module first, then one bad member."""
    with tarfile.open(path, "w:gz") as tar:
        good = tarfile.TarInfo("tiny/module.py")
        good.size = len(MODULE_PY)
        tar.addfile(good, io.BytesIO(MODULE_PY))
        bad.size = len(data) if bad.type == tarfile.REGTYPE else 0
        tar.addfile(bad, io.BytesIO(data) if data else None)
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def nothing_left(home: Path) -> bool:
    modules = home / "modules"
    return not modules.exists() or not any(modules.iterdir())


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (lambda out: member(str(out / "evil.py")), "points outside the module folder"),
        (lambda out: member("tiny/../../evil.py"), "points outside the module folder"),
        (lambda out: member("tiny/link", tarfile.SYMTYPE, str(out / "evil.py")), "is a symbolic link"),
        (lambda out: member("tiny/hard", tarfile.LNKTYPE, "/etc/passwd"), "is a hard link"),
        (lambda out: member("tiny/tty", tarfile.CHRTYPE), "device or other special file"),
        (lambda out: member("tiny/pipe", tarfile.FIFOTYPE), "device or other special file"),
    ],
    ids=["absolute", "dotdot", "symlink", "hardlink", "device", "fifo"],
)
def test_unsafe_tar_members_are_refused_before_anything_is_written(tmp_path, bad, reason) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "outside"
    archive = tar_with(tmp_path / "tiny-1.0.0.tar.gz", bad(outside), b"print('pwned')")
    home = tmp_path / "home"
    with pytest.raises(ArchiveError, match=reason):
        install(str(archive), InstallOptions(HubHome(home), say=lambda _: None))
    assert nothing_left(home) and not outside.exists() and not (tmp_path / "evil.py").exists()


def test_unsafe_zip_members_are_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for name, attributes, reason in [
        ("../evil.py", 0o100644, "points outside"),
        ("/abs/evil.py", 0o100644, "points outside"),
        ("tiny/link", stat.S_IFLNK | 0o777, "symbolic link"),
    ]:
        archive = tmp_path / "tiny-1.0.0.zip"
        with zipfile.ZipFile(archive, "w") as bundle:
            bundle.writestr("tiny/module.py", MODULE_PY)
            info = zipfile.ZipInfo(name)
            info.external_attr = attributes << 16
            bundle.writestr(info, b"/etc/passwd")
        with pytest.raises(ArchiveError, match=reason):
            install(str(archive), InstallOptions(HubHome(home), say=lambda _: None))
        assert nothing_left(home) and not (tmp_path / "evil.py").exists()


def test_extract_never_leaves_the_target_even_called_directly(tmp_path: Path) -> None:
    archive = tar_with(tmp_path / "a.tar.gz", member("../../x.py"), b"x")
    with pytest.raises(ArchiveError):
        extract(archive, tmp_path / "deep" / "target")
    assert not (tmp_path / "x.py").exists() and not (tmp_path / "deep" / "x.py").exists()
    assert not any((tmp_path / "deep" / "target").iterdir())


def test_not_an_archive_is_a_clear_error(tmp_path: Path) -> None:
    archive = tmp_path / "tiny-1.0.0.tar.gz"
    archive.write_bytes(b"this is not gzip")
    with pytest.raises(ArchiveError, match=r"not a readable \.tar\.gz or \.zip archive"):
        install(str(archive), InstallOptions(HubHome(tmp_path / "home"), say=lambda _: None))


def test_pack_is_reproducible_and_holds_a_manifest(tmp_path: Path) -> None:
    first = pack(TINY, tmp_path / "one")
    second = pack(TINY, tmp_path / "two")
    assert first.sha256 == second.sha256
    assert (tmp_path / "one" / "tiny-1.0.0.tar.gz.sha256").read_text().split() == [
        first.sha256,
        "tiny-1.0.0.tar.gz",
    ]
    with tarfile.open(first.archive) as tar:
        assert sorted(tar.getnames()) == ["tiny/helper.py", "tiny/hubmodule.json", "tiny/module.py"]


def test_a_changed_checksum_file_aborts_with_nothing_installed(tmp_path: Path) -> None:
    packed = pack(TINY, tmp_path)
    checksum = tmp_path / "tiny-1.0.0.tar.gz.sha256"
    checksum.write_text("0" * 64 + "  tiny-1.0.0.tar.gz\n")
    home = tmp_path / "home"
    result = run_hub(["install", str(packed.archive)], home)
    assert result.returncode == 1
    assert "tiny-1.0.0.tar.gz has sha256" in result.stderr and "nothing was installed" in result.stderr
    assert nothing_left(home)


def test_a_file_changed_after_packing_is_caught_by_the_manifest(tmp_path: Path) -> None:
    packed = pack(TINY, tmp_path / "packed")
    unpacked = tmp_path / "unpacked"
    shutil.unpack_archive(packed.archive, unpacked)
    (unpacked / "tiny" / "helper.py").write_text("def shout(text):\n    return 'tampered'\n")
    (unpacked / "tiny" / "extra.py").write_text("")
    tampered = Path(shutil.make_archive(str(tmp_path / "tiny-1.0.0"), "gztar", unpacked))
    home = tmp_path / "home"
    with pytest.raises(ChecksumMismatch, match=r"not in the manifest: extra\.py; changed: helper\.py"):
        install(str(tampered), InstallOptions(HubHome(home), say=lambda _: None))
    assert nothing_left(home)


def zeros_archive(path: Path, megabytes: int, extra_files: int = 0) -> Path:
    """A valid module archive that also holds ``megabytes`` of zeros: a few kB packed."""
    with tarfile.open(path, "w:gz") as tar:
        module = tarfile.TarInfo("tiny/module.py")
        module.size = len(MODULE_PY)
        tar.addfile(module, io.BytesIO(MODULE_PY))
        zeros = tarfile.TarInfo("tiny/zeros.bin")
        zeros.size = megabytes << 20
        tar.addfile(zeros, io.BytesIO(bytes(zeros.size)))
        for number in range(extra_files):
            tar.addfile(tarfile.TarInfo(f"tiny/empty{number}.txt"), io.BytesIO(b""))
    return path


@pytest.mark.parametrize(
    ("limits", "megabytes", "extra_files", "reason"),
    [
        (ArchiveLimits(max_unpacked_bytes=4 << 20), 8, 0, "unpacks to more than 4 MB"),
        (ArchiveLimits(ratio_checked_above_bytes=1 << 20), 8, 0, "over 100 times its size"),
        (ArchiveLimits(max_members=20), 0, 30, "holds more than 20 files and folders"),
    ],
    ids=["size", "ratio", "members"],
)
def test_an_archive_over_a_limit_is_refused_with_nothing_installed(
    tmp_path: Path, limits: ArchiveLimits, megabytes: int, extra_files: int, reason: str
) -> None:
    archive = zeros_archive(tmp_path / "tiny-1.0.0.tar.gz", megabytes, extra_files)
    assert archive.stat().st_size < 64 << 10
    home = tmp_path / "home"
    with pytest.raises(ArchiveError, match=reason):
        install(str(archive), InstallOptions(HubHome(home), say=lambda _: None, archive_limits=limits))
    assert nothing_left(home)


def test_the_archive_limits_come_from_the_environment_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = zeros_archive(tmp_path / "tiny-1.0.0.tar.gz", 3)
    home = tmp_path / "home"
    monkeypatch.setenv("HUB_ARCHIVE_MAX_MB", "2")
    refused = run_hub(["install", str(archive)], home)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "tiny-1.0.0.tar.gz unpacks to more than 2 MB: refusing to unpack it" in refused.stderr
    assert "raise the limit with HUB_ARCHIVE_MAX_MB" in refused.stderr and nothing_left(home)
    monkeypatch.setenv("HUB_ARCHIVE_MAX_MB", "4")
    assert run_hub(["install", str(archive)], home).returncode == 0
    assert (home / "modules" / "tiny" / "1.0.0" / "zeros.bin").stat().st_size == 3 << 20


def test_archive_limits_from_the_environment() -> None:
    limits = ArchiveLimits.from_env({"HUB_ARCHIVE_MAX_MB": "5", "HUB_ARCHIVE_MAX_FILES": "7"})
    assert limits == ArchiveLimits(max_unpacked_bytes=5 << 20, max_members=7)
    assert ArchiveLimits.from_env({}) == ArchiveLimits()
    for bad in ("0", "-1", "x", "1.5"):
        with pytest.raises(
            ConfigError, match=f"HUB_ARCHIVE_MAX_RATIO must be a positive whole number, not '{bad}'"
        ):
            ArchiveLimits.from_env({"HUB_ARCHIVE_MAX_RATIO": bad})
