from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from counterfeit.config import resolve
from counterfeit.metrics.collapse import D_WINS_WINDOW, CollapseMonitor
from counterfeit.train.watch import TrainingWatch
from counterfeit.data import load_dataset
from counterfeit.metrics.split import split_indices
from counterfeit.train.loop import train


def loss_record(step: int, d_loss: float, d_fake: float) -> dict[str, Any]:
    return {"step": step, "d_loss": d_loss, "d_fake": d_fake}


def test_d_winning_outright_early_fires_once() -> None:
    monitor = CollapseMonitor(total_steps=10_000)
    signals = [s for step in range(1, 20) for s in monitor.observe_losses(loss_record(step * 100, 1e-5, 1e-6))]
    assert [s.name for s in signals] == ["d_wins"]
    assert signals[0].step == D_WINS_WINDOW * 100


def test_mlp2_like_early_losses_and_late_wins_stay_quiet() -> None:
    monitor = CollapseMonitor(total_steps=10_000)
    # mlp2's first thousand steps: D loss 0.005-0.03, D(G(z)) 0.002-0.03, and it recovers.
    assert not [s for step in range(1, 20) for s in monitor.observe_losses(loss_record(step * 100, 0.005, 0.002))]
    late = CollapseMonitor(total_steps=1_000)
    assert not [s for step in range(6, 11) for s in late.observe_losses(loss_record(step * 100, 1e-5, 1e-6))]


def test_eval_signals() -> None:
    monitor = CollapseMonitor(total_steps=10_000)
    assert not monitor.observe_eval(1000, {"classes_covered": 10, "diversity": 0.9})
    assert not monitor.observe_eval(2000, {"classes_covered": 9, "diversity": 0.9})
    fell = monitor.observe_eval(3000, {"classes_covered": 7, "diversity": 0.3})
    assert sorted(s.name for s in fell) == ["classes_falling", "low_diversity"]
    assert not monitor.observe_eval(4000, {"classes_covered": 1, "diversity": 0.1})  # once each


class ConstantGenerator(nn.Module):
    """Every z maps to the same image: total mode collapse."""

    def __init__(self) -> None:
        super().__init__()
        self.image = nn.Parameter(torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.image.expand(len(z), -1, -1, -1)


@pytest.mark.parametrize("abort", [False, True])
def test_constant_generator_warns_once(abort: bool, capsys: pytest.CaptureFixture[str]) -> None:
    config = resolve(preset="tiny", overrides={"eval_every": 10, "collapse_abort": abort})
    watch = TrainingWatch(config, load_dataset(None), quiet=False)
    records: list[dict[str, Any]] = []
    watch.on_step(10, ConstantGenerator, records.append)
    watch.on_step(20, ConstantGenerator, records.append)
    assert [r["step"] for r in records if "fid" in r] == [10, 20]
    assert [r["collapse"] for r in records if "collapse" in r] == ["low_diversity"]
    warnings = [line for line in capsys.readouterr().err.splitlines() if "possible collapse" in line]
    assert len(warnings) == 1 and "diversity" in warnings[0]
    assert watch.stop is abort


class RealDigitsGenerator(nn.Module):
    """A healthy generator: each z picks one of a thousand held-out real digits."""

    def __init__(self) -> None:
        super().__init__()
        dataset = load_dataset(None)
        images = dataset.images[split_indices(len(dataset)).heldout[:1000]]
        self.images = nn.Parameter(torch.from_numpy(images).float().div(255)[:, None], requires_grad=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.images[(z[:, 0].abs() * 1e6).long() % len(self.images)]


def test_healthy_generator_and_losses_stay_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    config = resolve(preset="tiny", overrides={"eval_every": 10, "steps": 1000})
    watch = TrainingWatch(config, load_dataset(None), quiet=False)
    records: list[dict[str, Any]] = []
    for step in range(10, 60, 10):
        watch.on_losses(loss_record(step, 0.01, 0.005), records.append)  # mlp2's early levels
        watch.on_step(step, RealDigitsGenerator, records.append)
    evals = [r for r in records if "fid" in r]
    assert len(evals) == 5 and all(r["classes_covered"] == 10 for r in evals)
    assert not [r for r in records if "collapse" in r]
    assert "possible collapse" not in capsys.readouterr().err


def test_tiny_run_logs_evals_and_plots_them(tmp_path: Path) -> None:
    # tiny's 50 steps leave G nearly constant, so a low_diversity signal may rightly appear here.
    run = train(resolve(preset="tiny", overrides={"eval_every": 25}), out=tmp_path / "run", quiet=True)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if "fid" in r]
    assert [r["step"] for r in evals] == [25, 50]
    assert set(evals[-1]) == {"step", "eval_n", "fid", "precision", "recall", "classes_covered", "class_kl", "diversity",
                              "floor"}
    assert set(evals[-1]["floor"]) == {"fid", "precision", "recall", "classes_covered", "class_kl", "diversity"}
    assert all(set(r) == {"step", "collapse", "message"} for r in records if "collapse" in r)
    assert (run / "metrics.png").stat().st_size > 0
