"""Stacked MNIST end to end through the CLI: train a tiny model on 3-channel data, watch its modes,
sample RGB grids, eval with the floor; and the one-line errors of a channels mismatch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from counterfeit.cli import main
from counterfeit.config import resolve
from counterfeit.errors import ConfigError

TINY_STACKED = ["--preset", "tiny", "--data", "stacked-mnist", "--set", "channels=3", "--steps", "6",
                "--set", "eval_every=3", "--set", "sample_every=3", "--set", "frame_every=3", "--quiet"]


def test_train_watch_sample_and_eval_a_stacked_run(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from counterfeit.train import watch
    monkeypatch.setattr(watch, "STACKED_EVAL_N", 300)  # seconds, not tens of them: the same logic
    run = tmp_path / "run"
    assert main(["train", *TINY_STACKED, "--out", str(run)]) == 0
    evals = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if "eval_n" in line]
    assert [r["step"] for r in evals] == [3, 6]
    for record in evals:  # the modes, beside the floor of as many fresh real stacked images
        assert record["eval_n"] == 300 and set(record) == {"step", "eval_n", "modes_covered", "mode_kl", "floor"}
        assert 1 <= record["modes_covered"] <= 300 and record["floor"]["modes_covered"] > 200
    with Image.open(run / "samples" / "step_000006.png") as grid:
        assert grid.mode == "RGB"
    assert (run / "progress.gif").exists() and (run / "metrics.png").exists()

    assert main(["sample", str(run), "-n", "12", "--out", str(tmp_path / "s.npz")]) == 0
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (12, 3, 28, 28) and images.dtype == np.uint8

    capsys.readouterr()
    assert main(["eval", str(run), "-n", "300", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == report["n_floor"] == 300 and report["n_reference"] == 0
    assert set(report["metrics"]) == set(report["floor"]) == {"modes_covered", "mode_kl", "channel_kl", "unclear_reads"}
    # 300 real images of 1,000 modes: at most 300 modes, mostly distinct; KL at least ln(1000/300)
    assert 250 <= report["floor"]["modes_covered"] <= 300
    assert report["floor"]["mode_kl"] >= np.log(1000 / 300) - 1e-9
    assert 0 <= report["floor"]["channel_kl"] < report["floor"]["mode_kl"]  # 900 reads of 10 digits: near flat
    assert 0 <= report["floor"]["unclear_reads"] < 0.25  # real digits are mostly read with confidence
    assert (run / "eval.json").exists()

    assert main(["eval", str(run), "-n", "300"]) == 0  # the table says what is left out, and why
    table = capsys.readouterr().out
    assert "modes covered (of 1,000)" in table and "300 fresh real stacked images" in table
    assert "not computed for 3-channel images" in table


def test_eval_real_stacked_default_count_is_the_literatures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--real", "--data", "stacked-mnist", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_floor"] == 26_000
    # a uniform generator's 26,000 samples: every mode, KL near (K - 1) / 2N = 0.019 plus the evaluator's misreads
    assert report["floor"]["modes_covered"] == 1000 and 0.015 < report["floor"]["mode_kl"] < 0.05


@pytest.mark.parametrize("overrides, phrase", [
    ({"data": "stacked-mnist"}, "channels = 1, but data stacked-mnist has 3 channels"),
    ({"data": "stacked-mnist", "channels": "3", "model": "cmlp"}, "model cmlp is conditional on digits 0-9"),
    ({"channels": "3", "g_init": "vae"}, "g_init vae pre-trains on 1-channel images"),
])
def test_config_refuses_what_stacked_data_cannot_do(overrides: dict[str, str], phrase: str) -> None:
    with pytest.raises(ConfigError, match=phrase):
        resolve(preset="tiny", overrides=overrides)


def test_channels_that_do_not_match_the_data_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code = main(["train", "--preset", "tiny", "--set", "channels=3", "--steps", "2", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "has 1-channel images, but channels = 3" in err
    assert not (tmp_path / "r").exists()
