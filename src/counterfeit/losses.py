"""GAN objectives as pure functions of discriminator logits.

With D(x) = sigmoid(logit): -log D(x) = softplus(-logit) and -log(1 - D(x)) = softplus(logit),
so the BCE losses are the tutorials' log-sigmoid losses, computed without overflow. For lsgan,
hinge and wgan-gp, D's raw output is a score (a critic), not a probability's logit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def d_loss_bce(d_real_logits: Tensor, d_fake_logits: Tensor) -> Tensor:
    """-mean(log D(x)) - mean(log(1 - D(G(z)))): D ascends log D(x) + log(1 - D(G(z)))."""
    return F.softplus(-d_real_logits).mean() + F.softplus(d_fake_logits).mean()


def g_loss_nonsaturating(d_fake_logits: Tensor) -> Tensor:
    """-mean(log D(G(z))): Goodfellow et al.'s suggested G objective, strong early gradients."""
    return F.softplus(-d_fake_logits).mean()


def g_loss_minimax(d_fake_logits: Tensor) -> Tensor:
    """mean(log(1 - D(G(z)))): the original minimax G objective; saturates when D wins."""
    return -F.softplus(d_fake_logits).mean()


def d_loss_least_squares(d_real_logits: Tensor, d_fake_logits: Tensor) -> Tensor:
    """LSGAN (Mao et al. 2017, targets 0/1): 1/2 mean((D(x) - 1)^2) + 1/2 mean(D(G(z))^2)."""
    return 0.5 * ((d_real_logits - 1).square().mean() + d_fake_logits.square().mean())


def g_loss_least_squares(d_fake_logits: Tensor) -> Tensor:
    """LSGAN's G: 1/2 mean((D(G(z)) - 1)^2)."""
    return 0.5 * (d_fake_logits - 1).square().mean()


def d_loss_hinge(d_real_logits: Tensor, d_fake_logits: Tensor) -> Tensor:
    """Hinge (Lim & Ye 2017; Miyato et al. 2018): mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))."""
    return F.relu(1 - d_real_logits).mean() + F.relu(1 + d_fake_logits).mean()


def d_loss_wasserstein(d_real_logits: Tensor, d_fake_logits: Tensor) -> Tensor:
    """The critic's side of the Wasserstein estimate: mean(D(G(z))) - mean(D(x)). WGAN-GP adds
    the gradient penalty (`gradient_penalty` below), which needs D itself, not only its outputs."""
    return d_fake_logits.mean() - d_real_logits.mean()


def g_loss_critic_score(d_fake_logits: Tensor) -> Tensor:
    """-mean(D(G(z))): G raises the critic's score; the G loss of both hinge and WGAN."""
    return -d_fake_logits.mean()


def gradient_penalty(discriminator: nn.Module, real: Tensor, fake: Tensor, rng: torch.Generator) -> Tensor:
    """WGAN-GP's penalty (Gulrajani et al. 2017), keeping the critic close to 1-Lipschitz:
    mean((||grad_x D(x_hat)||_2 - 1)^2) at x_hat = e x + (1 - e) G(z), e ~ U[0, 1] per image.

    The graph is kept (create_graph) so that D's update differentiates through the gradient.
    """
    e = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), generator=rng, device=real.device)  # (B, 1, 1, 1)
    x_hat = (e * real + (1 - e) * fake.detach()).requires_grad_(True)  # (B, 1, 28, 28)
    (grad,) = torch.autograd.grad(discriminator(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).square().mean()


def r1_penalty(d_real_logits: Tensor, real: Tensor) -> Tensor:
    """R1 (Mescheder et al. 2018): mean over real x of ||grad_x D(x)||^2, which pushes D's slope to
    0 on the data. `real` required grad before D read it; for a conditional D, `d_real_logits` are
    D(x, y), so the gradient is in the image given its label. The graph is kept (create_graph) so
    that D's update differentiates through the gradient."""
    (grad,) = torch.autograd.grad(d_real_logits.sum(), real, create_graph=True)  # (B, 1, 28, 28)
    return grad.flatten(1).square().sum(1).mean()


def r1_weight(gamma: float, every: int, update: int) -> float:
    """The weight of `r1_penalty` in D update number `update` (0, 1, ... over the run): gamma / 2 on
    every `every`-th update (0, every, 2 every, ...) times `every`, 0 on the others. Lazy
    regularisation (Karras et al. 2020, StyleGAN2): the same average strength at 1/every the cost."""
    return gamma / 2 * every if gamma > 0 and update % every == 0 else 0.0


# The losses' gradients with respect to the logits, written out for the hand-written MLP step
# (train/fast/mlp_step.py), where autograd over a few hundred logits cost more than the formula; a
# test checks each against autograd. Arguments and results are (n,) tensors; n = batch rows.

def d_grad_bce(real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    return (torch.sigmoid(real) - 1) / len(real), torch.sigmoid(fake) / len(fake)


def g_grad_nonsaturating(fake: Tensor) -> Tensor:
    return (torch.sigmoid(fake) - 1) / len(fake)


def g_grad_minimax(fake: Tensor) -> Tensor:
    return -torch.sigmoid(fake) / len(fake)


def d_grad_least_squares(real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    return (real - 1) / len(real), fake / len(fake)


def g_grad_least_squares(fake: Tensor) -> Tensor:
    return (fake - 1) / len(fake)


def d_grad_hinge(real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    return -(real < 1).float() / len(real), (fake > -1).float() / len(fake)


def d_grad_wasserstein(real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    return torch.full_like(real, -1 / len(real)), torch.full_like(fake, 1 / len(fake))


def g_grad_critic_score(fake: Tensor) -> Tensor:
    return torch.full_like(fake, -1 / len(fake))


@dataclass(frozen=True)
class GanLoss:
    discriminator: Callable[[Tensor, Tensor], Tensor]
    generator: Callable[[Tensor], Tensor]
    d_grad: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]  # d loss / d (real, fake) logits
    g_grad: Callable[[Tensor], Tensor]  # d G loss / d fake logits
    gradient_penalty: bool = False  # D's loss adds gp_weight x the WGAN-GP penalty


LOSSES: dict[str, GanLoss] = {
    "nonsaturating": GanLoss(d_loss_bce, g_loss_nonsaturating, d_grad_bce, g_grad_nonsaturating),
    "minimax": GanLoss(d_loss_bce, g_loss_minimax, d_grad_bce, g_grad_minimax),
    "lsgan": GanLoss(d_loss_least_squares, g_loss_least_squares, d_grad_least_squares, g_grad_least_squares),
    "hinge": GanLoss(d_loss_hinge, g_loss_critic_score, d_grad_hinge, g_grad_critic_score),
    "wgan-gp": GanLoss(d_loss_wasserstein, g_loss_critic_score, d_grad_wasserstein, g_grad_critic_score,
                       gradient_penalty=True),
}
