from __future__ import annotations

import pytest
import torch
from torch import nn

from counterfeit.losses import gradient_penalty


def test_linear_critic_has_its_weight_norm_as_gradient_norm() -> None:
    # D(x) = w·x + b has grad_x D = w everywhere, so the penalty is (|w| - 1)^2 wherever x_hat lands.
    critic = nn.Sequential(nn.Flatten(), nn.Linear(784, 1))
    with torch.no_grad():
        critic[1].weight.fill_(0.1)  # |w| = 0.1 * sqrt(784) = 2.8
    real, fake = torch.rand(6, 1, 28, 28), torch.rand(6, 1, 28, 28)
    penalty = gradient_penalty(critic, real, fake, torch.Generator().manual_seed(0))
    assert penalty.item() == pytest.approx((2.8 - 1) ** 2, rel=1e-5)
    # create_graph: D's update can differentiate the penalty, d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w|
    (grad_w,) = torch.autograd.grad(penalty, critic[1].weight)
    torch.testing.assert_close(grad_w, torch.full_like(grad_w, 2 * 1.8 * 0.1 / 2.8))


def test_penalty_is_zero_for_a_unit_gradient_norm() -> None:
    critic = nn.Sequential(nn.Flatten(), nn.Linear(784, 1))
    with torch.no_grad():
        critic[1].weight.fill_(1 / 28)  # |w| = 1
    penalty = gradient_penalty(critic, torch.rand(3, 1, 28, 28), torch.rand(3, 1, 28, 28), torch.Generator())
    assert penalty.item() == pytest.approx(0.0, abs=1e-10)
