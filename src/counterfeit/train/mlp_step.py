"""The GAN step of `step.py` for fully connected G and D, with the backward passes written out.

Same updates in the same order on the same noise as the autograd path (tests check it against
the textbook loop), dropout masks from the same distribution (`MLPPass.draw_masks`); what
changes is how the work is run:
- D judges real and fake rows in one pass over their (2b, 784) concatenation, so each of D's
  weight gradients is one product over 2b rows instead of two over b and a sum. D has no layer
  that mixes rows (no batch norm), so this is the same maths.
- G's update backpropagates through D to its input only: D's weight gradients are never formed.
- The loss's gradient with respect to D's logits is the loss's own formula (losses.py); from
  there back, `MLPPass`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from counterfeit.config import Config
from counterfeit.losses import LOSSES
from counterfeit.models.mlp import IMAGE_PIXELS, MLPDiscriminator, MLPGenerator
from counterfeit.train.adam import adam_step
from counterfeit.train.mlp_pass import Layer, MLPPass, layers_of

if TYPE_CHECKING:
    from counterfeit.train.state import TrainState


class MLPStep:
    """Buffers for one process's `rows` rows of each batch; built once per run."""

    def __init__(self, g_layers: list[Layer], d_layers: list[Layer], rows: int, device: torch.device) -> None:
        self.rows = rows
        self.g = MLPPass(g_layers, rows, device)
        self.d = MLPPass(d_layers, 2 * rows, device)

    @classmethod
    def build(cls, config: Config, generator: nn.Module, discriminator: nn.Module, rows: int,
              device: torch.device) -> MLPStep | None:
        """For plain fully connected nets trained in float32 without a gradient penalty (that needs
        D's second derivatives); None otherwise, and the step takes the autograd path."""
        if not (isinstance(generator, MLPGenerator) and isinstance(discriminator, MLPDiscriminator)):
            return None
        if LOSSES[config.loss].gradient_penalty or config.precision != "fp32":
            return None
        g_layers, d_layers = layers_of(generator.net), layers_of(discriminator.net)
        return cls(g_layers, d_layers, rows, device) if g_layers and d_layers else None

    def discriminator_update(self, real: Tensor, z: Tensor, s: TrainState) -> tuple[Tensor, Tensor, Tensor]:
        b = self.rows
        with torch.no_grad():
            images = torch.cat([real.reshape(b, IMAGE_PIXELS), self.g.forward(z)])  # real rows, then fakes
            self.d.draw_masks(slice(0, b))  # nn.Dropout's order: D(real)'s masks, then D(fake)'s
            self.d.draw_masks(slice(b, 2 * b))
            real_logits, fake_logits = self.d.forward(images).view(-1).split(b)
            d_loss = s.loss.discriminator(real_logits, fake_logits)
            grad = torch.cat(s.loss.d_grad(real_logits, fake_logits)).view(-1, 1)
            grads, _ = self.d.backward(images, grad, parameter_grads=True, input_grad=False)
            adam_step(s.d_opt, s.world.average(grads))
        return d_loss, real_logits, fake_logits

    def generator_update(self, z: Tensor, s: TrainState) -> Tensor:
        b = self.rows
        with torch.no_grad():
            fake = self.g.forward(z)  # (b, 784)
            self.d.draw_masks(slice(0, b))
            logits = self.d.forward(fake).view(-1)  # (b,)
            g_loss, grad = s.loss.generator(logits), s.loss.g_grad(logits).view(-1, 1)
            _, grad = self.d.backward(fake, grad, parameter_grads=False, input_grad=True)
            grads, _ = self.g.backward(z, grad, parameter_grads=True, input_grad=False)
            adam_step(s.g_opt, s.world.average(grads))
        return g_loss
