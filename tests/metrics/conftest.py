from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def metrics_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Cached real-data statistics go to a temp dir, shared by this session's tests, never ~/.cache."""
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COUNTERFEIT_CACHE", str(path))
        yield path
