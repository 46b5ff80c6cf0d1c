"""One training step: n_critic D updates, then one G update (Goodfellow et al. 2014, Algorithm 1)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import Tensor

from counterfeit.gradient_penalty import gradient_penalty
from counterfeit.models.conditional import call_generator
from counterfeit.train.adam import adam_step
from counterfeit.train.conditioning import aux_class_loss, discriminate
from counterfeit.train.state import TrainState


@dataclass(frozen=True)
class StepOutput:
    """Detached tensors; reading them syncs the device, so the loop does it on log steps only."""

    d_loss: Tensor
    g_loss: Tensor
    d_real_logits: Tensor
    d_fake_logits: Tensor


def gan_step(real: Tensor, s: TrainState, labels: Tensor | None = None) -> StepOutput:
    """`real` holds config.n_critic batches (this process's rows of each) back to back, one per
    D update; the logged D values are those of the last D update. `labels` (one per row of
    `real`) make the step conditional: D judges (image, label) pairs, and G draws the real
    batches' labels, so fakes follow the data's class frequencies batch by batch."""
    batches = real.chunk(s.config.n_critic)
    if s.mlp is not None:  # the same updates with the backward passes by hand (train/mlp_step.py)
        z = _noise(s, len(batches[0]), draws=len(batches) + 1)
        d_loss, d_real_logits, d_fake_logits, g_loss = s.mlp.step(batches, z, s)
    else:
        label_batches = [None] * len(batches) if labels is None else list(labels.chunk(s.config.n_critic))
        for batch, batch_labels in zip(batches, label_batches):
            d_loss, d_real_logits, d_fake_logits = discriminator_step(batch, s, batch_labels)
        # G: non-saturating by default, ascend log D(G(z)) [+ log p(y | G(z, y))] on a fresh z.
        # Gradients are taken for G's parameters only, so D's weights get no gradient work at all.
        y = label_batches[-1]
        with _precision(s):
            g_fake_logits, g_class_logits = discriminate(s, call_generator(s.generator, _noise(s, len(batches[0])), y), y)
            g_loss = s.loss.generator(g_fake_logits) + aux_class_loss(s, g_class_logits, y)
        _descend(s, s.g_opt, g_loss)
    if s.ema is not None:
        s.ema.update(s.generator)

    s.step += 1
    return StepOutput(d_loss.detach(), g_loss.detach(), d_real_logits.detach(), d_fake_logits.detach())


def discriminator_step(real: Tensor, s: TrainState, labels: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """One D update. With BCE: ascend log D(x) + log(1 - D(G(z))) [+ log p(y | x) on real x with an
    AC-GAN head]. G runs without a graph."""
    n = real.shape[0]  # this process's rows of the global batch
    with _precision(s):
        with torch.no_grad():
            fake = call_generator(s.generator, _noise(s, n), labels)  # (n, 1, 28, 28)
        # Two D forwards, not one over cat(real, fake): measured as fast here (no copy of the
        # batch), and dropout then draws its masks in the textbook's order.
        d_real_logits, real_class_logits = discriminate(s, real, labels)  # (n,) each
        d_fake_logits, _ = discriminate(s, fake, labels)
        d_loss = s.loss.discriminator(d_real_logits, d_fake_logits) + aux_class_loss(s, real_class_logits, labels)
        if s.loss.gradient_penalty:
            d_loss = d_loss + s.config.gp_weight * gradient_penalty(s.discriminator, real, fake, s.noise_rng)
    _descend(s, s.d_opt, d_loss)
    return d_loss, d_real_logits, d_fake_logits


def _noise(s: TrainState, n: int, draws: int = 1) -> Tensor:
    """This process's slice of each of `draws` global draws of n rows per process, drawn at once
    (as many consecutive draws would give them): N processes use the noise one process would."""
    z = s.prior.sample(draws * n * s.world.size, s.noise_rng, s.device)
    return z if s.world.size == 1 else torch.cat([s.world.shard(part) for part in z.chunk(draws)])


def _precision(s: TrainState) -> contextlib.AbstractContextManager:
    if s.config.precision == "bf16":  # matrix products in bfloat16; weights and Adam stay float32
        return torch.autocast(s.device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _descend(s: TrainState, optimizer: torch.optim.Adam, loss: Tensor) -> None:
    """Gradients of `loss` for this optimiser's parameters alone, averaged over processes; one Adam update."""
    grads = torch.autograd.grad(loss, optimizer.param_groups[0]["params"])
    adam_step(optimizer, s.world.average(list(grads)))
