"""Stop on a NaN or Inf loss before it reaches a log line or a checkpoint.

Each step adds both losses into one device scalar (a non-finite value poisons the sum for good),
and only log and checkpoint steps read it back, so the device is not synced every step.
"""

from __future__ import annotations

from pathlib import Path

import torch

from counterfeit.errors import UserError
from counterfeit.train.state import StepOutput


class NonFiniteLoss(UserError):
    exit_code = 3  # not bad input (2): the run itself diverged


class NonFiniteGuard:
    def __init__(self, device: torch.device, step: int) -> None:
        self.total = torch.zeros((), device=device)
        self.checked_step = step  # the last step known to have finite losses

    def watch(self, output: StepOutput) -> None:
        self.total.add_(output.d_loss + output.g_loss)

    def check(self, step: int, last_checkpoint: Path | None) -> None:
        if not torch.isfinite(self.total).item():
            good = f"last good checkpoint: {last_checkpoint}" if last_checkpoint else "no checkpoint yet"
            raise NonFiniteLoss(f"a loss became NaN or Inf by step {step} (finite through "
                                f"step {self.checked_step}); training stopped; {good}")
        self.total.zero_()
        self.checked_step = step
