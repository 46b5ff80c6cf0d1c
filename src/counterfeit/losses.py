"""GAN objectives as pure functions of discriminator logits.

With D(x) = sigmoid(logit): -log D(x) = softplus(-logit) and -log(1 - D(x)) = softplus(logit),
so these are the tutorials' log-sigmoid losses, computed without overflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch.nn.functional as F
from torch import Tensor


def d_loss_bce(d_real_logits: Tensor, d_fake_logits: Tensor) -> Tensor:
    """-mean(log D(x)) - mean(log(1 - D(G(z)))): D ascends log D(x) + log(1 - D(G(z)))."""
    return F.softplus(-d_real_logits).mean() + F.softplus(d_fake_logits).mean()


def g_loss_nonsaturating(d_fake_logits: Tensor) -> Tensor:
    """-mean(log D(G(z))): Goodfellow et al.'s suggested G objective, strong early gradients."""
    return F.softplus(-d_fake_logits).mean()


def g_loss_minimax(d_fake_logits: Tensor) -> Tensor:
    """mean(log(1 - D(G(z)))): the original minimax G objective; saturates when D wins."""
    return -F.softplus(d_fake_logits).mean()


@dataclass(frozen=True)
class GanLoss:
    discriminator: Callable[[Tensor, Tensor], Tensor]
    generator: Callable[[Tensor], Tensor]


LOSSES: dict[str, GanLoss] = {
    "nonsaturating": GanLoss(d_loss_bce, g_loss_nonsaturating),
    "minimax": GanLoss(d_loss_bce, g_loss_minimax),
}
