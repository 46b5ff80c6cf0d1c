"""The training step as the tutorials write it: the reference our fast step must equal and beat."""

from __future__ import annotations

import torch
from torch import Tensor

from counterfeit.config import Config
from counterfeit.train.state import TrainState, build_state


def textbook_state(config: Config) -> TrainState:
    """`build_state`, but with the tutorials' optimiser: `Adam(params, lr)`, one loop per tensor."""
    s = build_state(config)
    for module, opt in ((s.generator, "g_opt"), (s.discriminator, "d_opt")):
        lr = config.lr_g if opt == "g_opt" else config.lr_d
        setattr(s, opt, torch.optim.Adam(module.parameters(), lr=lr, betas=config.betas, eps=config.adam_eps,
                                         foreach=False))
    return s


def textbook_step(real: Tensor, s: TrainState) -> None:
    """Two D forwards, backward through everything, zero_grad, plain Adam."""
    n = real.shape[0]
    fake = s.generator(s.prior.sample(n, s.noise_rng, s.device))
    d_loss = s.loss.discriminator(s.discriminator(real), s.discriminator(fake.detach()))
    s.d_opt.zero_grad()
    d_loss.backward()
    s.d_opt.step()
    g_loss = s.loss.generator(s.discriminator(s.generator(s.prior.sample(n, s.noise_rng, s.device))))
    s.g_opt.zero_grad()
    g_loss.backward()
    s.g_opt.step()
    s.step += 1
