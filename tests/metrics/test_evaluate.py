from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from counterfeit.data import load_dataset
from counterfeit.metrics import evaluate_path, evaluate_real, load_evaluator


def test_paths_may_be_strings(tiny_run: Path, tmp_path: Path) -> None:
    # `evaluate_path("run")` used to raise AttributeError ('str' has no is_dir).
    run = Path(shutil.copytree(tiny_run, tmp_path / "run"))
    np.savez(tmp_path / "real.npz", images=load_dataset(None).images[:300])
    # Unlabelled digits in an npz have no evaluator of their own: the MNIST one is asked for by hand.
    mnist = load_evaluator()
    from_run = evaluate_path(str(run), n=100, data=str(tmp_path / "real.npz"), evaluator=mnist)
    assert from_run.n == 100 and (run / "eval.json").is_file()
    assert from_run.real.source == str(tmp_path / "real.npz")
    assert evaluate_path(str(tmp_path / "real.npz"), n=100).n == 100
    assert evaluate_real(tmp_path / "real.npz", n=100, evaluator=mnist).real.source == str(tmp_path / "real.npz")


def test_other_data_is_read_as_the_options_say_not_as_the_run_read_its_own(tiny_run: Path, tmp_path: Path) -> None:
    run = Path(shutil.copytree(tiny_run, tmp_path / "run"))
    config = run / "config.toml"
    config.write_text(config.read_text().replace("invert = false", "invert = true"))  # a run of dark-on-light data
    np.savez(tmp_path / "real.npz", images=load_dataset(None).images[:300])
    report = evaluate_path(run, n=100, data=str(tmp_path / "real.npz"), evaluator=load_evaluator())
    assert report.real.source == str(tmp_path / "real.npz")  # was inverted, with no --invert given


def test_images_other_than_uint8_28_by_28_are_refused(tmp_path: Path) -> None:
    from counterfeit import UserError
    from counterfeit.metrics import evaluate_images

    digits = load_dataset(None).images[:300]
    for images, said in [(digits.astype(np.float32) / 255, "float32 (300, 28, 28)"),  # was FID 304, unsaid
                         (np.zeros((10, 32, 32), np.uint8), "uint8 (10, 32, 32)")]:
        with pytest.raises(UserError, match=rf"mine: images are {re.escape(said)}, expected uint8"):
            evaluate_images(images, "mine")
