"""The GAN step of `train/step.py` for fully connected G and D, with the backward passes written out.

Same updates in the same order on the same noise as the autograd path (tests check it against
the textbook loop), dropout masks from the same distribution (`MLPPass.draw_masks`); what
changes is how the work is run:
- D judges real and fake rows in one pass over their (2b, 784) concatenation, so each of D's
  weight gradients is one product over 2b rows instead of two over b and a sum. D has no layer
  that mixes rows (no batch norm), so this is the same maths.
- G runs once per step, over the noise of every D update and of its own update together: its
  weights only change at the end of the step, so this is the same maths in bigger products.
- G's update backpropagates through D to its input only: D's weight gradients are never formed.
- The loss's gradient with respect to D's logits is the loss's own formula (losses.py); from
  there back, `MLPPass`.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.utils.parametrize import is_parametrized

from counterfeit.models.mlp import MLPDiscriminator, MLPGenerator
from counterfeit.train.adam import adam_step
from counterfeit.train.fast.mlp_pass import Layer, MLPPass, layers_of
from counterfeit.train.precision import compute_dtype
from counterfeit.train.state import StepOutput, TrainState


def reproducible(s: TrainState) -> bool:
    """The one rule for what these passes compute exactly: plain fully connected G and D (Linear,
    activation, dropout: `layers_of` declines any other layer, minibatch std's row-mixing one too)
    whose weights are the parameters themselves (not parametrized: spectral norm uses W / sigma(W)),
    in float32 or bfloat16 (MLPPass's dtype), with a D loss that is a function of D's logits alone (not a gradient
    penalty or R1: they need D's second derivatives; not augmentation: D would read other images)."""
    nets = (s.generator, s.discriminator)
    plain = (isinstance(s.generator, MLPGenerator) and isinstance(s.discriminator, MLPDiscriminator)
             and not any(is_parametrized(m) for net in nets for m in net.modules()))
    logits_only = not s.loss.gradient_penalty and s.config.r1_gamma == 0
    return plain and logits_only and not s.config.augmentations


class MLPStep:
    """Buffers for one process's `rows` rows of each batch; built once per run."""

    def __init__(self, s: TrainState, g_layers: list[Layer], d_layers: list[Layer]) -> None:
        self.s = s
        self.rows = s.config.batch_size // s.world.size
        dtype = compute_dtype(s.config.precision)
        self.g = MLPPass(g_layers, self.rows, s.device, dtype)
        # D's masks for a whole step: each D update's real and fake rows, then G's update's rows
        self.d = MLPPass(d_layers, 2 * self.rows, s.device, dtype, mask_rows=(2 * s.config.n_critic + 1) * self.rows)

    @classmethod
    def build(cls, s: TrainState) -> MLPStep | None:
        """None, and the step takes the autograd path, for anything `reproducible` rules out."""
        if not reproducible(s):
            return None
        g_layers, d_layers = layers_of(s.generator.net), layers_of(s.discriminator.net)
        return cls(s, g_layers, d_layers) if g_layers and d_layers else None

    def __call__(self, real: Tensor, labels: Tensor | None = None) -> StepOutput:
        """One D update per real batch, then G's, on noise drawn at once for all of them. G's
        weights do not change until its own update, so one G pass over all of z gives the fakes of
        every D update and of G's update alike."""
        s, b = self.s, self.rows
        batches = real.chunk(s.config.n_critic)
        z = s.noise(b, draws=len(batches) + 1)
        # nn.Dropout's order: D(real)'s masks, then D(fake)'s, for each D update; then G update's
        self.d.draw_masks([slice(j * b, (j + 1) * b) for j in range(2 * len(batches) + 1)])
        with torch.no_grad():
            fakes = self.g.forward(z)  # ((n_critic + 1) b, 784 C)
            for k, batch in enumerate(batches):
                d_loss, real_logits, fake_logits = self._discriminator_update(batch, fakes[k * b:(k + 1) * b], 2 * k * b, s)
            g_loss = self._generator_update(z, fakes, 2 * len(batches) * b, s)
        s.end_step()
        return StepOutput(d_loss, g_loss, real_logits, fake_logits)

    def _discriminator_update(self, real: Tensor, fake: Tensor, first_mask_row: int,
                              s: TrainState) -> tuple[Tensor, Tensor, Tensor]:
        b = self.rows
        images = torch.cat([real.reshape(b, -1).to(fake.dtype), fake])  # real rows, then fake rows: (2b, 784 C)
        real_logits, fake_logits = self.d.forward(images, first_mask_row).view(-1).float().split(b)  # the loss in float32
        d_loss = s.loss.discriminator(real_logits, fake_logits)
        grad = torch.cat(s.loss.d_grad(real_logits, fake_logits)).view(-1, 1)
        grads, _ = self.d.backward(images, grad, parameter_grads=True, input_grad=False)
        adam_step(s.d_opt, s.world.average(grads))
        self.d.weights_updated()
        return d_loss, real_logits, fake_logits

    def _generator_update(self, z: Tensor, fakes: Tensor, first_mask_row: int, s: TrainState) -> Tensor:
        mine = slice(len(z) - self.rows, len(z))  # G's own rows: the last draw
        logits = self.d.forward(fakes[mine], first_mask_row).view(-1).float()  # (b,)
        g_loss, grad = s.loss.generator(logits), s.loss.g_grad(logits).view(-1, 1)
        _, grad = self.d.backward(fakes[mine], grad, parameter_grads=False, input_grad=True)
        grads, _ = self.g.backward(z, grad, parameter_grads=True, input_grad=False, rows=mine)
        adam_step(s.g_opt, s.world.average(grads))
        self.g.weights_updated()
        return g_loss
