"""WGAN-GP's gradient penalty (Gulrajani et al. 2017): keeps the critic close to 1-Lipschitz."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def gradient_penalty(discriminator: nn.Module, real: Tensor, fake: Tensor, rng: torch.Generator) -> Tensor:
    """mean((||grad_x D(x_hat)||_2 - 1)^2) at x_hat = e x + (1 - e) G(z), e ~ U[0, 1] per image.

    The graph is kept (create_graph) so that D's update differentiates through the gradient.
    """
    e = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), generator=rng, device=real.device)  # (B, 1, 1, 1)
    x_hat = (e * real + (1 - e) * fake.detach()).requires_grad_(True)  # (B, 1, 28, 28)
    (grad,) = torch.autograd.grad(discriminator(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).square().mean()
