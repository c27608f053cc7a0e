"""Owner-only files: one check for every file of Aurelis's own, repairing or refusing."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from aurelis.core.private_files import UnsafeFileError, check_private, open_private_append


@contextmanager
def _opened(path: Path) -> Iterator[int]:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        yield descriptor
    finally:
        os.close(descriptor)


def _file(tmp_path: Path, mode: int) -> Path:
    path = tmp_path / "own"
    path.write_text("data", encoding="utf-8")
    path.chmod(mode)
    return path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mode", [0o644, 0o664, 0o666, 0o640])
def test_repair_tightens_loose_permissions_to_owner_only(tmp_path: Path, mode: int) -> None:
    path = _file(tmp_path, mode)
    with _opened(path) as descriptor:
        check_private(descriptor, path, repair=True)
    assert _mode(path) == 0o600


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_refuse_rejects_a_file_other_users_could_have_written(tmp_path: Path, mode: int) -> None:
    path = _file(tmp_path, mode)
    with _opened(path) as descriptor, pytest.raises(UnsafeFileError, match="writable by other"):
        check_private(descriptor, path, repair=False)
    assert _mode(path) == mode  # refused, not changed


@pytest.mark.parametrize("mode", [0o600, 0o644])
def test_refuse_accepts_a_file_only_its_owner_can_write(tmp_path: Path, mode: int) -> None:
    path = _file(tmp_path, mode)
    with _opened(path) as descriptor:
        assert check_private(descriptor, path, repair=False).st_size == len("data")


@pytest.mark.parametrize("repair", [True, False])
def test_a_directory_is_never_a_private_file(tmp_path: Path, repair: bool) -> None:
    with _opened(tmp_path) as descriptor, pytest.raises(UnsafeFileError, match="not a regular"):
        check_private(descriptor, tmp_path, repair=repair)


def test_appending_creates_an_owner_only_file_and_refuses_a_planted_link(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "aurelis.log"
    with open_private_append(log) as handle:
        handle.write("one\n")
    assert _mode(log) == 0o600 and _mode(log.parent) == 0o700
    target = tmp_path / "elsewhere"
    target.write_text("", encoding="utf-8")
    link = tmp_path / "linked.log"
    link.symlink_to(target)
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        open_private_append(link)
    assert target.read_text(encoding="utf-8") == ""
