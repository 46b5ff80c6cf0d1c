"""One training step: n_critic D updates, then one G update (Goodfellow et al. 2014, Algorithm 1).

`make_step(state)` picks, once per run, how the step is computed: for plain fully connected G and D
(float32 or bf16), the hand-written backward passes of `train/fast/` (the same updates, faster); for
everything else, autograd here. Unconditional models are called G(z) and D(x) -> (B,) logits;
conditional ones G(z, y) and D(x, y) -> (B,) logits, or (B, 1 + classes) with an AC-GAN head;
self-conditioned ones (`clusters`) G(z) and D(x, cluster), the cluster a real image's nearest
centroid or the one a fake's z picked.
"""

from __future__ import annotations

import contextlib
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from counterfeit.losses import gradient_penalty, r1_penalty, r1_weight
from counterfeit.models.conditional import call_generator
from counterfeit.train.adam import adam_step
from counterfeit.train.fast import MLPStep
from counterfeit.train.state import StepOutput, TrainState

Step = Callable[[Tensor, "Tensor | None"], StepOutput]  # (real, labels) -> output


def make_step(s: TrainState) -> Step:
    """`real` holds config.n_critic batches (this process's rows of each) back to back, one per
    D update; `labels` (one per row of `real`) make the step conditional."""
    fast = MLPStep.build(s)
    return fast if fast is not None else AutogradStep(s)


class AutogradStep:
    def __init__(self, s: TrainState) -> None:
        self.s = s

    def __call__(self, real: Tensor, labels: Tensor | None = None) -> StepOutput:
        """The logged D values are those of the last D update. With labels, D judges (image, label)
        pairs and G draws the real batches' labels, so fakes follow the data's class frequencies."""
        s = self.s
        batches = real.chunk(s.config.n_critic)
        label_batches = [None] * len(batches) if labels is None else list(labels.chunk(s.config.n_critic))
        label_batches = [real_labels(s, batch, batch_labels) for batch, batch_labels in zip(batches, label_batches)]
        for k, (batch, batch_labels) in enumerate(zip(batches, label_batches)):
            d_loss, d_real_logits, d_fake_logits = discriminator_update(batch, s, batch_labels, k)
        # G: non-saturating by default, ascend log D(G(z)) [+ log p(y | G(z, y))] on a fresh z.
        # Gradients are taken for G's parameters only, so D's weights get no gradient work at all.
        y = label_batches[-1]
        with _precision(s):
            g_fake, g_labels = generate(s, len(batches[0]), y)
            g_fake_logits, g_class_logits = discriminate(s, s.augmented(g_fake), g_labels)  # D sees what it trains on
            g_loss = s.loss.generator(g_fake_logits) + aux_class_loss(s, g_class_logits, g_labels)
        _descend(s, s.g_opt, g_loss)
        s.end_step()
        return StepOutput(d_loss.detach(), g_loss.detach(), d_real_logits.detach(), d_fake_logits.detach())


def discriminator_update(real: Tensor, s: TrainState, labels: Tensor | None = None,
                         k: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """D update k of this step. With BCE: ascend log D(x) + log(1 - D(G(z))) [+ log p(y | x) on real x
    with an AC-GAN head] [- the R1 penalty]. G runs without a graph."""
    n = real.shape[0]  # this process's rows of the global batch
    with _precision(s):
        with torch.no_grad():
            fake, fake_labels = generate(s, n, labels)  # (n, C, 28, 28)
        real, fake = s.augmented(real), s.augmented(fake)  # DiffAugment: both alike, each its own draw
        # Two D forwards, not one over cat(real, fake): as fast for the MLPs, faster for the conv
        # D (one pass over 2n rows measured 0.86-0.94x, docs/benchmarks.md "Conv step"), and
        # dropout then draws its masks in the textbook's order. A D with a row-mixing layer
        # (d_mbstd; models.mbstd.mixes_rows) must keep them apart: one pass over cat(real, fake)
        # would let the fakes' minibatch std read the real rows.
        d_real_logits, real_class_logits = discriminate(s, real, labels)  # (n,) each
        d_fake_logits, _ = discriminate(s, fake, fake_labels)
        d_loss = s.loss.discriminator(d_real_logits, d_fake_logits) + aux_class_loss(s, real_class_logits, labels)
        if s.loss.gradient_penalty:
            d_loss = d_loss + s.config.gp_weight * gradient_penalty(s.discriminator, real, fake, s.noise_rng)
        d_loss = d_loss + r1_term(s, k, real, labels)
    _descend(s, s.d_opt, d_loss)
    return d_loss, d_real_logits, d_fake_logits


def real_labels(s: TrainState, real: Tensor, labels: Tensor | None) -> Tensor | None:
    """The labels D judges real rows with: the data's, or for a self-conditioned model
    (models/selfcond.py) each image's nearest centroid's cluster."""
    return s.discriminator.clusters_of(real) if s.config.clusters else labels


def generate(s: TrainState, n: int, labels: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """n fakes from fresh noise, and the labels D judges them with: the real batch's for a
    conditional G, the clusters z picked for a self-conditioned one, None."""
    z = s.noise(n)
    if s.config.clusters:
        return s.generator.labelled(z)
    return call_generator(s.generator, z, labels), labels


def discriminate(s: TrainState, images: Tensor, labels: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """The real/fake logits (B,) and, for an AC-GAN discriminator, its class logits (B, classes)."""
    out = s.discriminator(images) if labels is None else s.discriminator(images, labels)
    return (out, None) if out.ndim == 1 else (out[:, 0], out[:, 1:])


def r1_term(s: TrainState, k: int, real: Tensor, labels: Tensor | None) -> Tensor | float:
    """gamma/2 * mean ||grad_x D(x)||^2 over the real rows, on the D updates lazy R1 regularises
    (losses.r1_weight; the count of D updates comes from the state, so a resumed run regularises
    the same ones); 0 on the others. Its own D pass over the real rows, as in StyleGAN2."""
    weight = r1_weight(s.config.r1_gamma, s.config.r1_every, s.step * s.config.n_critic + k)
    if weight == 0:
        return 0.0
    real = real.detach().requires_grad_(True)
    d_real_logits, _ = discriminate(s, real, labels)  # (n,): the real/fake logit, given the label
    return weight * r1_penalty(d_real_logits, real)


def aux_class_loss(s: TrainState, class_logits: Tensor | None, labels: Tensor | None) -> Tensor | float:
    """aux_weight * -mean(log p(y | x)); 0 without an auxiliary head. The step applies it to D on
    real digits only, so D learns classes from real digits, not from G's failures."""
    if class_logits is None or labels is None:
        return 0.0
    return s.config.aux_weight * F.cross_entropy(class_logits, labels)


def _precision(s: TrainState) -> contextlib.AbstractContextManager:
    # bf16: matrix products and convolutions in bfloat16; weights and Adam stay float32. (Channels-
    # last G and D were measured no faster for these 28x28 convolutions: docs/benchmarks.md.)
    if s.config.precision == "bf16":
        return torch.autocast(s.device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _descend(s: TrainState, optimizer: torch.optim.Adam, loss: Tensor) -> None:
    """Gradients of `loss` for this optimiser's parameters alone, averaged over processes; one Adam update."""
    grads = torch.autograd.grad(loss, optimizer.param_groups[0]["params"])
    adam_step(optimizer, s.world.average(list(grads)))
