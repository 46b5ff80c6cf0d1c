from __future__ import annotations

import pytest
import torch

from counterfeit.config import resolve
from counterfeit.train.state import build_state
from counterfeit.train.step import make_step

SMALL = {"cgan": {"g_hidden": "32", "d_hidden": "32"}, "cdcgan": {"g_hidden": "8,8", "d_hidden": "8,8"}}


@pytest.mark.parametrize("preset", ["cgan", "cdcgan"])
def test_conditional_step_moves_both_networks(preset: str) -> None:
    s = build_state(resolve(preset=preset, overrides={**SMALL[preset], "device": "cpu"}))
    g0, d0 = [p.clone() for p in s.generator.parameters()], [p.clone() for p in s.discriminator.parameters()]
    out = make_step(s)(torch.rand(16, 1, 28, 28) * 2 - 1, torch.arange(16) % 10)
    assert all(not torch.equal(a, b) for a, b in zip(g0, s.generator.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(d0, s.discriminator.parameters()))
    assert out.d_real_logits.shape == (16,) and torch.isfinite(out.d_loss)


def test_the_d_loss_reads_the_labels() -> None:
    """Same weights, noise and images: only the labels differ, and so does the loss; aux adds a term."""
    def d_loss(aux_weight: str, labels: torch.Tensor) -> float:
        s = build_state(resolve(preset="cgan", overrides={**SMALL["cgan"], "aux_weight": aux_weight,
                                                          "d_dropout": "0", "device": "cpu"}))
        return make_step(s)(torch.zeros(10, 1, 28, 28), labels).d_loss.item()

    ordered, reversed_ = torch.arange(10), torch.arange(10).flip(0)
    assert d_loss("1", ordered) != d_loss("1", reversed_)
    assert d_loss("2", ordered) > d_loss("0", ordered)  # the class loss adds a positive term
