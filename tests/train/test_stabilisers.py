"""D's stabilisers in training (issue 15): R1 on the right D updates and changing D's update.
That each of them (spectral norm, R1, minibatch std) resumes bit-exactly after a crash is tested
with every other option in test_resume_zoo.py."""

from __future__ import annotations


import pytest
import torch

from counterfeit.config import resolve
from counterfeit.train import step
from counterfeit.train.state import build_state
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
