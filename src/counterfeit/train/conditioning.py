"""Labels in training: the real batches with their labels, how the step calls D with or without
labels, and the AC-GAN class loss.

Unconditional models are called G(z) and D(x) -> (B,) logits; conditional ones G(z, y) and
D(x, y) -> (B,) logits, or (B, 1 + classes) when D has an auxiliary classifier head.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from counterfeit.data.sampler import InMemorySampler
from counterfeit.train.distributed import World
from counterfeit.train.state import TrainState


def discriminate(s: TrainState, images: Tensor, labels: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """The real/fake logits (B,) and, for an AC-GAN discriminator, its class logits (B, classes)."""
    out = s.discriminator(images) if labels is None else s.discriminator(images, labels)
    return (out, None) if out.ndim == 1 else (out[:, 0], out[:, 1:])


def aux_class_loss(s: TrainState, class_logits: Tensor | None, labels: Tensor | None) -> Tensor | float:
    """aux_weight * -mean(log p(y | x)); 0 without an auxiliary head. The step applies it to D on
    real digits only, so D learns classes from real digits, not from G's failures."""
    if class_logits is None or labels is None:
        return 0.0
    return s.config.aux_weight * F.cross_entropy(class_logits, labels)


def next_real(sampler: InMemorySampler, world: World, n_critic: int) -> tuple[Tensor, Tensor | None]:
    """n_critic batches back to back (this process's rows of each), and their labels when the
    sampler has them."""
    batches = [sampler.next_labelled() for _ in range(n_critic)]
    real = _joined([world.shard(images) for images, _ in batches])
    if batches[0][1] is None:
        return real, None
    return real, _joined([world.shard(labels) for _, labels in batches if labels is not None])


def _joined(parts: list[Tensor]) -> Tensor:
    """The parts back to back; one part as it is (cat would copy the whole batch every step)."""
    return parts[0] if len(parts) == 1 else torch.cat(parts)
