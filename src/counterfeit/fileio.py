"""Atomic file writes: a reader (or a crash) never sees half a file.

Portable: Windows has no `os.fchmod` and cannot open a directory as a file, so the mode is set
through the path and the directory fsync is skipped there (only Linux is tested).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


@contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO]:
    """Write to a temp file in the same directory, fsync it, then `os.replace` it into place."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:  # name the file asked for, not the temp file beside it
        raise OSError(err.errno, err.strerror, str(path)) from None
    try:
        with os.fdopen(fd, mode) as handle:
            os.chmod(tmp, 0o644)  # mkstemp makes files private (0600); run files are ordinary files
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def fsync_directory(path: str | os.PathLike[str]) -> None:
    """Make a rename or unlink in `path` durable: `os.replace` alone may be lost in a power cut.
    Not on Windows, where a directory cannot be opened (NTFS journals the rename itself)."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
