"""Cached real-data statistics, in the toolkit's cache folder (counterfeit.home). Entries are npz
files named by a hash of what they depend on."""

from __future__ import annotations

import hashlib
from pathlib import Path

from counterfeit.home import cache_dir
from counterfeit.home import load_arrays as load
from counterfeit.home import store_arrays as store

__all__ = ["cache_path", "load", "store"]

# Bump when what is cached changes meaning (2: radii from the squared-distance GEMM; 3: the floor's
# density and coverage with strict `<`, its medians the true ones; 4: the floor's classifier_score).
CACHE_VERSION = "4"


def cache_path(kind: str, *parts: object) -> Path:
    key = hashlib.sha256("|".join(map(str, (CACHE_VERSION, kind, *parts))).encode()).hexdigest()[:20]
    return cache_dir() / f"{kind}-{key}.npz"
