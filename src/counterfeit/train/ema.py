"""An exponential moving average of G's weights: after each step, avg <- decay avg + (1 - decay) w.

Averaging the iterates smooths the oscillation of GAN training (Yazıcı et al. 2019); snapshots,
the saved `generator.safetensors` and so `sample` and evaluation use the average when it is on.

The decay warms up: at step t it is min(decay, (1 + t) / (10 + t)) (as TensorFlow's
ExponentialMovingAverage with num_updates), so early averages forget the random initial G instead
of keeping decay^t of it (at decay 0.999, 22% after 1,500 steps: conditional accuracy fell from 89%
to 66% on cdcgan). From t = 9,000 on (decay 0.999) the ramp no longer binds.

Batch norm's running statistics are not weights: G's own belong to G's weights, not to the average
(copying them cost the cdcgan preset 4 points of conditional accuracy). So for a G with batch norm
the average's statistics are recomputed for the averaged weights, over a fixed set of noise batches,
whenever the average is used after it has changed (`EMA.averaged`): a pure function of the averaged
weights, so every process and every resume computes the same ones.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor, nn

from counterfeit import private_ops
from counterfeit.config import Config
from counterfeit.models.conditional import call_generator
from counterfeit.priors import Prior
from counterfeit.sampling.labels import balanced_labels
from counterfeit.seeds import Stream, stream_seed

Inputs = list[tuple[Tensor, "Tensor | None"]]  # (z, labels or None) batches
# Batches of the run's batch size, so each batch's statistics are those G normalised with in
# training; 8 of them put the estimate's noise at a third of one batch's (1/sqrt(8)) for the cost
# of 8 G forwards without a graph (about one training step of dcgan or cdcgan, measured), paid
# only when the average is used after it changed.
STATS_BATCHES = 8


def has_batch_norm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


@torch.no_grad()
def recompute_batch_norm(generator: nn.Module, inputs: Inputs) -> None:
    """Reset every batch norm's running statistics, then run G in train mode over `inputs` with
    momentum None, so each statistic is the plain average over the batches of that batch's mean
    and (unbiased) variance, as batch norm keeps them. G is left in eval mode."""
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average instead of an exponential one
    generator.train()
    try:
        for z, labels in inputs:
            call_generator(generator, z, labels)
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
        generator.eval()


def stats_inputs(config: Config, prior: Prior, device: torch.device) -> Inputs:
    """The fixed noise (and, for a conditional G, class-balanced labels: digits 0-9 in turn over
    all the batches) that recomputes the average's batch-norm statistics: the same every time."""
    rng = torch.Generator(device).manual_seed(stream_seed(config.seed, Stream.EMA_STATS))
    n = config.batch_size
    z = prior.sample(STATS_BATCHES * n, rng, device).split(n)
    labels = balanced_labels(STATS_BATCHES * n, device).split(n) if config.conditional else [None] * STATS_BATCHES
    return list(zip(z, labels))


class EMA:
    def __init__(self, model: nn.Module, decay: float, stats_inputs: Inputs | None = None) -> None:
        """`stats_inputs`: the fixed batches that recompute a batch-norm G's statistics; None (a G
        without batch norm) keeps G's own buffers, if it has any."""
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)  # the average starts at w_0
        self.stats_inputs = stats_inputs
        self._stale = stats_inputs is not None  # the statistics do not yet belong to the average
        self._lerp_ = private_ops.lerp_()

    def decay_at(self, step: int) -> float:
        """The decay of the update after `step` completed steps (the warm-up, module docstring)."""
        return min(self.decay, (1 + step) / (10 + step))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Average in `model`'s weights after `step` completed steps (0 for the first update)."""
        # lerp(avg, w, 1 - decay) = decay avg + (1 - decay) w: one fused op over all parameters
        # where this PyTorch has it (private_ops.lerp_)
        self._lerp_(list(self.model.parameters()), list(model.parameters()), 1.0 - self.decay_at(step))
        if self.stats_inputs is None:  # no batch norm: whatever buffers G keeps are its own to share
            for mine, theirs in zip(self.model.buffers(), model.buffers()):
                mine.copy_(theirs)
        self._stale = self.stats_inputs is not None

    def averaged(self) -> nn.Module:
        """The average, ready to use: its batch-norm statistics recomputed if the weights changed
        since they last were (a few G forwards; nothing at all without batch norm)."""
        if self._stale:
            recompute_batch_norm(self.model, self.stats_inputs or [])
            self._stale = False
        return self.model

    @torch.no_grad()
    def restart_from(self, model: nn.Module) -> None:
        """Make the average start again at `model`'s weights (e.g. after pre-training G)."""
        self.model.load_state_dict(model.state_dict())
        self._stale = self.stats_inputs is not None

    def state_dict(self) -> dict[str, Any]:
        """The averaged weights and the statistics that belong to them."""
        return self.averaged().state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state)
        # recomputed on first use: the same numbers state_dict saved, and right for checkpoints
        # from before the statistics were recomputed
        self._stale = self.stats_inputs is not None
