"""One process trains a run directory at a time: an advisory lock on `RUN_DIR/train.lock`.

The kernel drops the lock when the process ends however it ends (even SIGKILL), so a crashed run
never leaves a stale lock behind. The file itself stays: removing it would race a second process.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from counterfeit.errors import UserError
from counterfeit.rundir import LOCK_FILE

try:
    import fcntl
except ImportError:  # Windows: no flock; runs go unguarded there
    fcntl = None  # type: ignore[assignment]



class RunLocked(UserError):
    """Another process is training the run (one that is still running, so not a failure of it)."""


@contextmanager
def run_lock(run_path: Path) -> Iterator[None]:
    """Hold the run's lock, or fail at once naming the process that holds it."""
    if fcntl is None:
        yield
        return
    # "a+": opening must not change the file, since another process may own it.
    with open(run_path / LOCK_FILE, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise RunLocked(f"{run_path}: is being trained by another process (pid {holder})") from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
