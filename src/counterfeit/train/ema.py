"""An exponential moving average of G's weights: after each step, avg <- decay avg + (1 - decay) w.

Averaging the iterates smooths the oscillation of GAN training (Yazıcı et al. 2019); snapshots,
the saved `generator.safetensors` and so `sample` and evaluation use the average when it is on.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from counterfeit import private_ops


class EMA:
    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)  # the average starts at w_0
        self._lerp_ = private_ops.lerp_()

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        # lerp(avg, w, 1 - decay) = decay avg + (1 - decay) w: one fused op over all parameters
        # where this PyTorch has it (private_ops.lerp_)
        self._lerp_(list(self.model.parameters()), list(model.parameters()), 1.0 - self.decay)
        # buffers (batch norm's running statistics) are already averages: take G's own
        for mine, theirs in zip(self.model.buffers(), model.buffers()):
            mine.copy_(theirs)

    @torch.no_grad()
    def restart_from(self, model: nn.Module) -> None:
        """Make the average start again at `model`'s weights (e.g. after pre-training G)."""
        self.model.load_state_dict(model.state_dict())

    def state_dict(self) -> dict[str, Any]:
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state)
