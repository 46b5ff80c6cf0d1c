"""One training step: one D update, then one G update (Goodfellow et al. 2014, Algorithm 1)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from counterfeit.train.state import TrainState


@dataclass(frozen=True)
class StepOutput:
    """Detached tensors; reading them syncs the device, so the loop does it on log steps only."""

    d_loss: Tensor
    g_loss: Tensor
    d_real_logits: Tensor
    d_fake_logits: Tensor


def gan_step(real: Tensor, s: TrainState) -> StepOutput:
    n = real.shape[0]
    # D: ascend log D(x) + log(1 - D(G(z))). G runs without a graph: D's update needs no G grads.
    with torch.no_grad():
        fake = s.generator(s.prior.sample(n, s.noise_rng, s.device))  # (B, 1, 28, 28)
    # One D forward over real and fake together: D has no batch-dependent layers, so the maths is
    # that of two forwards, with half the matrix-product calls.
    logits = s.discriminator(torch.cat([real, fake]))  # (2B,)
    d_real_logits, d_fake_logits = logits[:n], logits[n:]
    d_loss = s.loss.discriminator(d_real_logits, d_fake_logits)
    _descend(s.d_opt, d_loss)

    # G: non-saturating by default, ascend log D(G(z)) on a fresh z. Gradients are taken for G's
    # parameters only, so D's weights get no gradient work at all.
    g_fake_logits = s.discriminator(s.generator(s.prior.sample(n, s.noise_rng, s.device)))
    g_loss = s.loss.generator(g_fake_logits)
    _descend(s.g_opt, g_loss)

    s.step += 1
    return StepOutput(d_loss.detach(), g_loss.detach(), d_real_logits.detach(), d_fake_logits.detach())


def _descend(optimizer: torch.optim.Optimizer, loss: Tensor) -> None:
    """Gradients of `loss` for this optimiser's parameters alone, then one optimiser step."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for p, grad in zip(params, torch.autograd.grad(loss, params)):
        p.grad = grad
    optimizer.step()
