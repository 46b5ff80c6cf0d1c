from __future__ import annotations

import os

# Before torch loads OpenMP (this process and the subprocesses the tests start): idle OpenMP
# threads sleep. Tests run several processes on few cores, where spinning threads steal the cores
# the working ones need (5x slower steps measured); a lone training run is faster spinning.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import random
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import torch

from counterfeit.config import resolve
from counterfeit.train.loop import train


@pytest.fixture(autouse=True)
def seeded_global_rngs() -> None:
    """Each test starts from the same global RNG states whichever tests ran before it (or were
    deselected), so a draw like `torch.randn(8, 4)` or an `nn.Linear` init is reproducible."""
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                              reason="needs a CUDA GPU"))])
def device(request: pytest.FixtureRequest) -> str:
    """A test that takes `device` runs on the CPU, and on a GPU too where torch sees one."""
    return request.param


@pytest.fixture(scope="session", autouse=True)
def metrics_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The toolkit's cache folder (real-data statistics, downloaded datasets, converted image
    folders, evaluators) is a temp dir, shared by this session's tests (and the worker processes
    and Ray tasks they start, which inherit the variable), never ~/.cache."""
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COUNTERFEIT_CACHE", str(path))
        yield path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished 50-step run of the tiny preset, shared by tests that only read it."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    return train(resolve(preset="tiny"), out=out, quiet=True)


TINY_CONDITIONAL = {"g_hidden": "32", "d_hidden": "32", "z_dim": "8", "batch_size": "16", "steps": "4",
                    "log_every": "2", "sample_every": "2", "grid_size": "20", "device": "cpu"}


@pytest.fixture(scope="session")
def tiny_cgan_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 4-step run of the cgan preset made tiny, shared by tests that only read it."""
    out = tmp_path_factory.mktemp("runs") / "tiny-cgan"
    return train(resolve(preset="cgan", overrides=TINY_CONDITIONAL), out=out, quiet=True)
