"""The toolkit's cache folder, shared by every part of it: downloaded datasets (datasets/NAME/),
converted image folders (images-*.npz), evaluators trained per dataset (evaluators/FINGERPRINT/)
and real-data statistics (real-*.npz).

$COUNTERFEIT_CACHE, else $XDG_CACHE_HOME/counterfeit, else ~/.cache/counterfeit.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np

from counterfeit.fileio import atomic_write_bytes

CACHE_ENV = "COUNTERFEIT_CACHE"


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "counterfeit"


def load_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """A cached npz entry's arrays, or None when absent or unreadable (then they are rebuilt)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        return None


def store_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Written atomically, so concurrent runs never read half an entry; a read-only cache is skipped."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())
    except OSError:
        pass
