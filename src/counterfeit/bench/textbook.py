"""The training step as the tutorials write it: the reference our fast step must equal and beat."""

from __future__ import annotations

import torch
from torch import Tensor

from counterfeit.config import Config
from counterfeit.train.state import TrainState, build_state
from counterfeit.train.step import aux_class_loss, discriminate, generate, real_labels


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
    (image, label) pairs and an AC-GAN head adds its class loss (on real images for D). A
    self-conditioned model (`clusters`) labels real images and fakes as the training step does."""
    n = real.shape[0]
    labels = real_labels(s, real, labels)
    fake, fake_labels = generate(s, n, labels)
    (real_logits, real_classes), (fake_logits, _) = (discriminate(s, real, labels),
                                                     discriminate(s, fake.detach(), fake_labels))
    d_loss = s.loss.discriminator(real_logits, fake_logits) + aux_class_loss(s, real_classes, labels)
    s.d_opt.zero_grad()
    d_loss.backward()
    s.d_opt.step()
    fake, fake_labels = generate(s, n, labels)
    fake_logits, fake_classes = discriminate(s, fake, fake_labels)
    g_loss = s.loss.generator(fake_logits) + aux_class_loss(s, fake_classes, fake_labels)
    s.g_opt.zero_grad()
    g_loss.backward()
    s.g_opt.step()
    s.step += 1
