from __future__ import annotations

from pathlib import Path

import pytest

from counterfeit.config import resolve
from counterfeit.train.loop import train


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished 50-step run of the tiny preset, shared by tests that only read it."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    return train(resolve(preset="tiny"), out=out, quiet=True)
