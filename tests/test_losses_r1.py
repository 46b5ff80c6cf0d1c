"""R1 (losses.r1_penalty) on a linear D, where the answer is known, and its lazy weight."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from counterfeit.losses import r1_penalty, r1_weight
from counterfeit.models.conditional import ConditionalDiscriminator
from counterfeit.models.mlp import MLPDiscriminator


def test_linear_d_has_its_weight_norm_squared() -> None:
    # D(x) = w·x + b has grad_x D = w for every x, so mean ||grad||^2 = ||w||^2 exactly.
    d = nn.Sequential(nn.Flatten(), nn.Linear(784, 1))
    with torch.no_grad():
        d[1].weight.copy_(torch.linspace(-1, 1, 784))
    real = torch.rand(5, 1, 28, 28).requires_grad_(True)
    penalty = r1_penalty(d(real).squeeze(1), real)
    w = d[1].weight.detach()
    assert penalty.item() == pytest.approx(w.square().sum().item(), rel=1e-6)
    # create_graph: D's update can differentiate it, d/dw ||w||^2 = 2 w
    (grad_w,) = torch.autograd.grad(penalty, d[1].weight)
    torch.testing.assert_close(grad_w, 2 * w)


def test_conditional_d_gradient_is_in_the_image_given_its_label() -> None:
    # cmlp's D reads cat(pixels, one-hot y): a linear one is w·x + u·onehot(y) + b, so the image's
    # gradient is w, the label's weights u play no part.
    d = ConditionalDiscriminator(MLPDiscriminator([], inputs=784 + 10), "concatenation", 0)
    with torch.no_grad():
        d.body.net[0].weight.fill_(0.5)[:, 784:] = 100.0
    real = torch.rand(4, 1, 28, 28).requires_grad_(True)
    logits = d(real, torch.tensor([0, 3, 3, 9]))  # (4,)
    assert r1_penalty(logits, real).item() == pytest.approx(784 * 0.25, rel=1e-6)


@pytest.mark.parametrize("gamma, every, weights", [
    (10.0, 4, [20.0, 0, 0, 0, 20.0, 0, 0, 0, 20.0]),  # gamma / 2 x 4, on updates 0, 4, 8
    (10.0, 1, [5.0] * 9),  # every update: gamma / 2
    (0.0, 4, [0.0] * 9),  # off
])
def test_lazy_weight_is_applied_every_nth_update_scaled_by_n(gamma: float, every: int, weights: list[float]) -> None:
    assert [r1_weight(gamma, every, update) for update in range(9)] == weights
    assert sum(weights[:8]) / 8 == gamma / 2  # over whole periods: the strength of R1 on every update
