from __future__ import annotations

from pathlib import Path

import pytest

# 2 variants x 2 seeds of the tiny preset, a few steps each: an in-training evaluation (for the
# curves and the threshold) and checkpoints every 5 steps (so a killed run has one to resume from).
TINY_EXPERIMENT = """
description = "tiny: does a wider G help? (a test)"
preset = "tiny"
seeds = [0, 1]
baseline = "base"

[budget]
steps = 20

[eval]
n = 100
threshold = { fid = 800 }

[set]
eval_every = 20
log_every = 5
checkpoint_every = 5

[[variants]]
name = "base"

[[variants]]
name = "wide"
set = { g_hidden = [64] }
"""


@pytest.fixture(scope="session")
def tiny_text() -> str:
    return TINY_EXPERIMENT


@pytest.fixture
def tiny_file(tmp_path: Path, tiny_text: str) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny_text)
    return path
