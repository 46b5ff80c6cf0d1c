"""The training step as the tutorials write it: the reference our fast step must equal and beat."""

from __future__ import annotations

import torch
from torch import Tensor

from counterfeit.config import Config
from counterfeit.models.conditional import call_generator
from counterfeit.train.state import TrainState, build_state
from counterfeit.train.step import aux_class_loss, discriminate


def textbook_state(config: Config) -> TrainState:
    """`build_state`, but with the tutorials' optimiser: `Adam(params, lr)`, one loop per tensor,
    and the tutorials' NCHW conv weights (not our channels-last, train/state.py weight_layout)."""
    s = build_state(config)
    for module, opt in ((s.generator, "g_opt"), (s.discriminator, "d_opt")):
        module.to(memory_format=torch.contiguous_format)
        lr = config.lr_g if opt == "g_opt" else config.lr_d
        setattr(s, opt, torch.optim.Adam(module.parameters(), lr=lr, betas=config.betas, eps=config.adam_eps,
                                         foreach=False))
    return s


def textbook_step(real: Tensor, s: TrainState, labels: Tensor | None = None) -> None:
    """Two D forwards, backward through everything, zero_grad, plain Adam; with labels, D judges
    (image, label) pairs and an AC-GAN head adds its class loss (on real images for D)."""
    n = real.shape[0]
    fake = call_generator(s.generator, s.prior.sample(n, s.noise_rng, s.device), labels)
    (real_logits, real_classes), (fake_logits, _) = discriminate(s, real, labels), discriminate(s, fake.detach(), labels)
    d_loss = s.loss.discriminator(real_logits, fake_logits) + aux_class_loss(s, real_classes, labels)
    s.d_opt.zero_grad()
    d_loss.backward()
    s.d_opt.step()
    fake_logits, fake_classes = discriminate(s, call_generator(s.generator, s.prior.sample(n, s.noise_rng, s.device), labels),
                                             labels)
    g_loss = s.loss.generator(fake_logits) + aux_class_loss(s, fake_classes, labels)
    s.g_opt.zero_grad()
    g_loss.backward()
    s.g_opt.step()
    s.step += 1
