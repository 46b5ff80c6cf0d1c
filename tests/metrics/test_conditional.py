from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from counterfeit.config import resolve
from counterfeit.data import load_dataset
from counterfeit.metrics.conditional import conditional_report
from counterfeit.metrics.evaluator import load_evaluator
from counterfeit.metrics.split import split_indices
from counterfeit.train.loop import train

TINY = {"g_hidden": "32", "d_hidden": "32", "z_dim": "8", "batch_size": "16", "steps": "4",
        "log_every": "2", "sample_every": "2", "grid_size": "20", "device": "cpu"}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "counterfeit", *args], capture_output=True, text=True)


class HeldoutDigits(nn.Module):
    """A stand-in conditional G: asked for digit d, it returns the held-out real images of digit
    (d + shift) % 10 in order, as tanh-range pixels. shift 0 draws exactly what is asked for."""

    def __init__(self, shift: int) -> None:
        super().__init__()
        dataset = load_dataset(None)
        heldout = split_indices(len(dataset)).heldout
        images, labels = dataset.images[heldout], dataset.labels[heldout]
        self.by_digit = [torch.from_numpy(images[labels == d]).float() / 127.5 - 1 for d in range(10)]
        self.used = [0] * 10
        self.shift = shift
        self.dummy = nn.Parameter(torch.zeros(1))  # so the module has a device

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        out = []
        for y in labels.tolist():
            d = (y + self.shift) % 10
            out.append(self.by_digit[d][self.used[y] % len(self.by_digit[d])])
            self.used[y] += 1
        return torch.stack(out).unsqueeze(1)


@pytest.mark.parametrize("shift", [0, 1])
def test_conditional_report_matches_digit_to_digit(shift: int) -> None:
    config = resolve(preset="cgan", overrides=TINY)
    report = conditional_report(HeldoutDigits(shift), config, load_dataset(None), load_evaluator(), per_class=150)
    floor = report["floor"]
    assert len(report["cond_accuracy_per_class"]) == len(report["fid_per_class"]) == 10
    assert report["fid_n_per_class"] == [150] * 10  # every digit has at least 150 held out
    if shift == 0:  # real digits of the asked class: the floor's own images and numbers
        assert report["fid_per_class"] == pytest.approx(floor["fid_per_class"], rel=1e-6)
        assert report["cond_accuracy"] == pytest.approx(floor["cond_accuracy"], abs=0.01)
        assert report["cond_accuracy_min"] > 0.9
    else:  # real digits, but the wrong ones
        assert report["cond_accuracy"] < 0.05
        assert min(report["fid_per_class"]) > 5 * max(floor["fid_per_class"])


def test_eval_of_a_conditional_run(tiny_cgan_run: Path, tiny_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_cgan_run, run)
    result = run_cli("eval", str(run), "--n", "200", "--per-class", "20", "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert json.loads((run / "eval.json").read_text()) == printed
    entry = printed["conditional"]
    assert entry["n_per_class"] == 20 and entry["fid_n_per_class"] == [20] * 10
    accuracy = entry["cond_accuracy_per_class"]
    assert entry["cond_accuracy"] == pytest.approx(np.mean(accuracy)) and entry["cond_accuracy_min"] == min(accuracy)
    assert all(v > 0 for v in entry["fid_per_class"]) and entry["floor"]["cond_accuracy"] > 0.95
    table = run_cli("eval", str(run), "--n", "200", "--per-class", "20").stdout
    assert "cond_accuracy" in table and "20 samples asked for each digit" in table
    plain = json.loads(run_cli("eval", str(tiny_run), "--n", "200", "--json").stdout)
    assert "conditional" not in plain  # unconditional runs are judged as before


def test_conditional_eval_without_labels_is_one_line(tiny_cgan_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_cgan_run, run)
    np.savez(tmp_path / "unlabelled.npz", images=load_dataset(None).images[:500])
    result = run_cli("eval", str(run), "--n", "100", "--data", str(tmp_path / "unlabelled.npz"))
    assert result.returncode == 2 and "no labels" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (run / "eval.json").exists()


def test_in_training_eval_of_a_conditional_run(tmp_path: Path) -> None:
    config = resolve(preset="cgan", overrides={**TINY, "eval_every": "2"})
    run = train(config, out=tmp_path / "run", quiet=True)
    evals = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in evals if "fid" in r]
    assert [r["step"] for r in evals] == [2, 4]
    assert all(0 <= r["cond_accuracy_min"] <= r["cond_accuracy"] <= 1 for r in evals)
    assert (run / "metrics.png").is_file()
