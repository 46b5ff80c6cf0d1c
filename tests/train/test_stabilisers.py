"""D's stabilisers in training (issue 15): R1 on the right D updates, and every one of them
(spectral norm, R1, minibatch std) resumes bit-exactly after a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from counterfeit.config import resolve
from counterfeit.train import loop, step
from counterfeit.train.loop import resume, train
from counterfeit.train.state import TrainState, build_state
from counterfeit.train.step import make_step


def test_lazy_r1_regularises_every_nth_d_update_counted_over_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    config = resolve(preset="tiny", overrides={"r1_gamma": "10", "r1_every": "3", "n_critic": "2"})
    state = build_state(config)
    weights: list[float] = []
    penalties: list[float] = []
    real_weight, real_penalty = step.r1_weight, step.r1_penalty
    monkeypatch.setattr(step, "r1_weight", lambda *args: weights.append(real_weight(*args)) or weights[-1])
    monkeypatch.setattr(step, "r1_penalty", lambda *args: penalties.append(1) or real_penalty(*args))
    update = make_step(state)
    for _ in range(3):  # 6 D updates: 0, 3 regularised (step 0's first, step 1's second)
        update(torch.rand(2 * 32, 1, 28, 28))
    assert weights == [15.0, 0.0, 0.0, 15.0, 0.0, 0.0] and len(penalties) == 2


def test_r1_changes_d_update() -> None:
    def d_after_one_step(gamma: str) -> list[torch.Tensor]:
        state = build_state(resolve(preset="tiny", overrides={"r1_gamma": gamma, "r1_every": "1"}))
        make_step(state)(torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(1)))
        return [p.detach().clone() for p in state.discriminator.parameters()]

    assert any(not torch.equal(a, b) for a, b in zip(d_after_one_step("10"), d_after_one_step("0")))


class Killed(Exception):
    """A process that dies mid-run."""


def kill_at(monkeypatch: pytest.MonkeyPatch, at_step: int) -> None:
    """The run's step raises when the state reaches `at_step`, as if the process were killed there."""
    build = loop.make_step

    def dying_step(state: TrainState) -> Any:
        inner = build(state)

        def run(real: torch.Tensor, labels: torch.Tensor | None = None) -> Any:
            if state.step == at_step:
                raise Killed
            return inner(real, labels)
        return run

    monkeypatch.setattr(loop, "make_step", dying_step)


def outputs(run: Path) -> dict[str, Any]:
    """What a run leaves, wall time aside: final weights, GIF, every grid and every log line."""
    files = {name: (run / name).read_bytes()
             for name in ("generator.safetensors", "discriminator.safetensors", "progress.gif")}
    files.update({f"samples/{p.name}": p.read_bytes() for p in (run / "samples").iterdir()})
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return {**files, "metrics": [{k: v for k, v in r.items() if k != "seconds"} for r in lines]}


DCGAN = {"model": "dcgan", "g_hidden": "8,4", "d_hidden": "4,8", "init": "dcgan-normal", "g_output": "tanh"}
OPTIONS = {
    "spectral norm, dcgan": {**DCGAN, "d_norm": "spectral"},
    "spectral norm, mlp with dropout": {"d_norm": "spectral", "d_dropout": "0.3"},
    "lazy r1, n_critic 2": {"r1_gamma": "5", "r1_every": "3", "n_critic": "2"},
    "minibatch std, dcgan": {**DCGAN, "d_mbstd": "true"},
    "all three, cdcgan with AC-GAN head": {**DCGAN, "model": "cdcgan", "aux_weight": "1", "grid_size": "20",
                                           "d_norm": "spectral", "d_mbstd": "true", "r1_gamma": "1",
                                           "r1_every": "4"},
}


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
def test_run_killed_and_resumed_equals_the_uninterrupted_one(options: dict[str, str], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    config = resolve(preset="tiny", overrides={"steps": "16", "checkpoint_every": "6", "log_every": "2",
                                               "sample_every": "5", "frame_every": "3", **options})
    whole = train(config, out=tmp_path / "whole", quiet=True)
    with monkeypatch.context() as patch:
        kill_at(patch, 9)  # last checkpoint at 6; lines, grids and frames of steps 7-8 are written
        with pytest.raises(Killed):
            train(config, out=tmp_path / "killed", quiet=True)
    resume(tmp_path / "killed", quiet=True)
    assert outputs(tmp_path / "killed") == outputs(whole)
