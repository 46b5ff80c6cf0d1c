"""The loss options beyond BCE, against hand computation on a hand-made batch."""

from __future__ import annotations

import pytest
import torch

from counterfeit.losses import LOSSES

REAL, FAKE = [0.0, 2.0, -1.5], [-1.0, 1.0, 3.0]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_lsgan_losses() -> None:
    loss = LOSSES["lsgan"]
    d_expected = 0.5 * _mean([(r - 1) ** 2 for r in REAL]) + 0.5 * _mean([f ** 2 for f in FAKE])
    g_expected = 0.5 * _mean([(f - 1) ** 2 for f in FAKE])
    assert loss.discriminator(torch.tensor(REAL), torch.tensor(FAKE)).item() == pytest.approx(d_expected)
    assert loss.generator(torch.tensor(FAKE)).item() == pytest.approx(g_expected)


def test_hinge_losses() -> None:
    loss = LOSSES["hinge"]
    d_expected = _mean([max(0.0, 1 - r) for r in REAL]) + _mean([max(0.0, 1 + f) for f in FAKE])
    assert loss.discriminator(torch.tensor(REAL), torch.tensor(FAKE)).item() == pytest.approx(d_expected)
    assert loss.generator(torch.tensor(FAKE)).item() == pytest.approx(-_mean(FAKE))


def test_wasserstein_losses_and_only_wgan_gp_asks_for_the_penalty() -> None:
    loss = LOSSES["wgan-gp"]
    assert loss.discriminator(torch.tensor(REAL), torch.tensor(FAKE)).item() == pytest.approx(_mean(FAKE) - _mean(REAL))
    assert loss.generator(torch.tensor(FAKE)).item() == pytest.approx(-_mean(FAKE))
    assert [name for name, entry in LOSSES.items() if entry.gradient_penalty] == ["wgan-gp"]


def test_minimax_saturates_where_nonsaturating_does_not() -> None:
    # D confidently rejects the fakes (logit -8): the minimax G gradient all but vanishes.
    fake = torch.full((4,), -8.0, requires_grad=True)
    (minimax,) = torch.autograd.grad(LOSSES["minimax"].generator(fake), fake)
    (nonsaturating,) = torch.autograd.grad(LOSSES["nonsaturating"].generator(fake), fake)
    assert minimax.abs().max() < 1e-3 < nonsaturating.abs().min()
