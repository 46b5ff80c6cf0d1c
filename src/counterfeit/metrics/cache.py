"""Where cached real-data statistics live: $COUNTERFEIT_CACHE, else $XDG_CACHE_HOME/counterfeit,
else ~/.cache/counterfeit. Entries are npz files named by a hash of what they depend on."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import numpy as np

from counterfeit.fileio import atomic_write_bytes

CACHE_ENV = "COUNTERFEIT_CACHE"
# Bump when what is cached changes meaning (2: radii from the squared-distance GEMM; 3: the floor's
# density and coverage with strict `<`, its medians the true ones).
CACHE_VERSION = "3"


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "counterfeit"


def cache_path(kind: str, *parts: object) -> Path:
    key = hashlib.sha256("|".join(map(str, (CACHE_VERSION, kind, *parts))).encode()).hexdigest()[:20]
    return cache_dir() / f"{kind}-{key}.npz"


def load(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when absent or unreadable (then they are rebuilt)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        return None


def store(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Written atomically, so concurrent runs never read half an entry; a read-only cache is skipped."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())
    except OSError:
        pass
