from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from counterfeit.data import load_dataset
from counterfeit.metrics import evaluate_path, evaluate_real


def test_paths_may_be_strings(tiny_run: Path, tmp_path: Path) -> None:
    # `evaluate_path("run")` used to raise AttributeError ('str' has no is_dir).
    run = Path(shutil.copytree(tiny_run, tmp_path / "run"))
    np.savez(tmp_path / "real.npz", images=load_dataset(None).images[:300])
    from_run = evaluate_path(str(run), n=100, data=str(tmp_path / "real.npz"))
    assert from_run.n == 100 and (run / "eval.json").is_file()
    assert from_run.real.source == str(tmp_path / "real.npz")
    assert evaluate_path(str(tmp_path / "real.npz"), n=100).n == 100
    assert evaluate_real(tmp_path / "real.npz", n=100).real.source == str(tmp_path / "real.npz")
