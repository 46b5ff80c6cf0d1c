from __future__ import annotations

import os
import stat
import types
from pathlib import Path

import pytest

from counterfeit import fileio


def test_atomic_write_replaces_whole_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "record.txt"
    path.write_text("old")
    fileio.atomic_write_text(path, "new")
    assert path.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["record.txt"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # mkstemp's 0600 is not kept


def windows_like_os() -> types.SimpleNamespace:
    """`os` as Windows has it: no fchmod, and a directory cannot be opened as a file."""
    names = {name: getattr(os, name) for name in dir(os) if not name.startswith("__") and name != "fchmod"}

    def open_(path: str | os.PathLike[str], flags: int, mode: int = 0o777) -> int:
        if os.path.isdir(path):
            raise PermissionError(13, "Permission denied", str(path))
        return os.open(path, flags, mode)

    return types.SimpleNamespace(**{**names, "name": "nt", "open": open_})


def test_atomic_write_needs_no_fchmod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fileio, "os", windows_like_os())  # every write raised AttributeError there
    fileio.atomic_write_bytes(tmp_path / "weights.bin", b"\x00\x01")
    assert (tmp_path / "weights.bin").read_bytes() == b"\x00\x01"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.bin"]


def fsyncs_of(fake_os: types.SimpleNamespace) -> list[int]:
    calls: list[int] = []
    fake_os.fsync = lambda fd: calls.append(fd) or os.fsync(fd)
    return calls


def test_the_directory_is_fsynced_where_it_can_be_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    posix = types.SimpleNamespace(**{name: getattr(os, name) for name in dir(os) if not name.startswith("__")})
    calls = fsyncs_of(posix)
    monkeypatch.setattr(fileio, "os", posix)
    fileio.fsync_directory(tmp_path)
    assert len(calls) == 1


def test_no_directory_fsync_where_directories_cannot_be_opened(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    windows = windows_like_os()  # a checkpoint's rename raised PermissionError there
    calls = fsyncs_of(windows)
    monkeypatch.setattr(fileio, "os", windows)
    fileio.fsync_directory(tmp_path)
    assert calls == []


def test_a_write_into_a_missing_directory_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "x.png"
    with pytest.raises(FileNotFoundError) as info:
        fileio.atomic_write_bytes(path, b"")
    assert info.value.filename == str(path)  # not the temp file beside it, which the user never named
