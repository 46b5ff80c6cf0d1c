from __future__ import annotations

import math

import pytest
import torch

from counterfeit.losses import LOSSES


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


REAL, FAKE = [0.0, 2.0, -1.5], [-1.0, 1.0, 3.0]


def test_discriminator_loss_matches_the_tutorial_formula() -> None:
    # -mean(log D(x) + log(1 - D(G(z)))) with D = sigmoid(logit), by hand
    expected = -sum(math.log(_sigmoid(r)) + math.log(1 - _sigmoid(f)) for r, f in zip(REAL, FAKE)) / 3
    got = LOSSES["nonsaturating"].discriminator(torch.tensor(REAL), torch.tensor(FAKE))
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_nonsaturating_generator_loss() -> None:
    expected = -sum(math.log(_sigmoid(f)) for f in FAKE) / 3
    assert LOSSES["nonsaturating"].generator(torch.tensor(FAKE)).item() == pytest.approx(expected, rel=1e-6)


def test_minimax_generator_loss_is_the_saturating_form() -> None:
    expected = sum(math.log(1 - _sigmoid(f)) for f in FAKE) / 3
    assert LOSSES["minimax"].generator(torch.tensor(FAKE)).item() == pytest.approx(expected, rel=1e-6)


def test_losses_stay_finite_for_extreme_logits() -> None:
    extreme = torch.tensor([-200.0, 200.0])
    for loss in LOSSES.values():
        assert torch.isfinite(loss.discriminator(extreme, extreme))
        assert torch.isfinite(loss.generator(extreme))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_written_out_logit_gradients_equal_autograd(name: str) -> None:
    """The hand-written MLP step uses each loss's formula for d loss / d logits."""
    loss = LOSSES[name]
    real = torch.tensor([-3.0, -0.4, 0.5, 0.99, 1.5, 4.0], requires_grad=True)  # both sides of hinge's kinks
    fake = torch.tensor([-4.0, -1.2, -0.9, 0.2, 1.1, 3.0], requires_grad=True)
    want_real, want_fake = torch.autograd.grad(loss.discriminator(real, fake), [real, fake])
    got_real, got_fake = loss.d_grad(real.detach(), fake.detach())
    torch.testing.assert_close(got_real, want_real)
    torch.testing.assert_close(got_fake, want_fake)
    (want_g,) = torch.autograd.grad(loss.generator(fake), [fake])
    torch.testing.assert_close(loss.g_grad(fake.detach()), want_g)
