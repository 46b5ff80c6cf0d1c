"""Everything a training step reads and updates, in one place (and so in one checkpoint)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from counterfeit import private_ops
from counterfeit.config import Config
from counterfeit.losses import LOSSES, GanLoss
from counterfeit.models import build_discriminator, build_generator
from counterfeit.priors import Prior
from counterfeit.seeds import Stream, rank_seed, stream_seed
from counterfeit.train.device import resolve_device
from counterfeit.train.distributed import World
from counterfeit.train.ema import EMA


@dataclass(frozen=True)
class StepOutput:
    """What a step returns: detached tensors; reading them syncs the device, so the loop does it
    on log steps only."""

    d_loss: Tensor
    g_loss: Tensor
    d_real_logits: Tensor
    d_fake_logits: Tensor


@dataclass
class TrainState:
    config: Config
    generator: nn.Module
    discriminator: nn.Module
    g_opt: torch.optim.Optimizer
    d_opt: torch.optim.Optimizer
    prior: Prior
    loss: GanLoss
    noise_rng: torch.Generator  # every z of training comes from here
    device: torch.device
    ema: EMA | None = None  # the average of G's weights, when config.ema > 0
    step: int = 0  # updates completed
    world: World = World()  # which process of how many (torchrun); one by default

    @property
    def images_seen(self) -> int:
        """Real images D has read: each step takes n_critic batches."""
        return self.step * self.config.batch_size * self.config.n_critic

    @property
    def sampling_generator(self) -> nn.Module:
        """The generator that snapshots, saved weights and evaluation use: the average when on."""
        return self.ema.model if self.ema is not None else self.generator

    def noise(self, n: int, draws: int = 1) -> Tensor:
        """This process's slice of each of `draws` global draws of n rows per process, drawn at once
        (as many consecutive draws would give them): N processes use the noise one process would."""
        z = self.prior.sample(draws * n * self.world.size, self.noise_rng, self.device)
        return z if self.world.size == 1 else torch.cat([self.world.shard(part) for part in z.chunk(draws)])

    def end_step(self) -> None:
        """After a step's updates: the EMA follows G, and the step is counted."""
        if self.ema is not None:
            self.ema.update(self.generator)
        self.step += 1


def make_adam(module: nn.Module, lr: float, config: Config, device: torch.device) -> torch.optim.Adam:
    # fused Adam: one kernel over all parameters instead of a loop of small ops (CPU and CUDA),
    # where this PyTorch has it (train/adam.py calls the kernel directly)
    fused = device.type in ("cpu", "cuda") and private_ops.fused_adam_works()
    return torch.optim.Adam(module.parameters(), lr=lr, betas=config.betas, eps=config.adam_eps, fused=fused)


def weight_layout(device: torch.device) -> torch.memory_format:
    """Channels-last conv weights on the CPU: oneDNN then runs the convolutions, and the activations
    they produce, in NHWC without reordering each call (dcgan's and cdcgan's step 1.01-1.11x side by
    side, docs/benchmarks.md "Conv step"). Only 4-d tensors change; the MLPs' weights stay as they are."""
    return torch.channels_last if device.type == "cpu" else torch.preserve_format


def build_state(config: Config, world: World = World()) -> TrainState:
    """Seeds every RNG from `config.seed`, then builds models and optimisers in a fixed order."""
    torch.manual_seed(config.seed)  # parameter init and dropout draw from torch's global RNG
    random.seed(config.seed)  # nothing draws from these yet; seeded (and checkpointed) so that
    np.random.seed(config.seed)  # whatever does later stays reproducible
    device = resolve_device(config.device, world.local_rank)
    layout = weight_layout(device)
    generator = build_generator(config).to(device, memory_format=layout)
    discriminator = build_discriminator(config).to(device, memory_format=layout)
    if world.rank > 0:  # each process's rows get their own dropout masks; rank 0 keeps one process's
        torch.manual_seed(rank_seed(config.seed, world.rank))
    noise_rng = torch.Generator(device=device).manual_seed(stream_seed(config.seed, Stream.NOISE))
    return TrainState(
        config=config,
        generator=generator,
        discriminator=discriminator,
        g_opt=make_adam(generator, config.lr_g, config, device),
        d_opt=make_adam(discriminator, config.lr_d, config, device),
        prior=Prior(config.prior, config.z_dim),
        loss=LOSSES[config.loss],
        noise_rng=noise_rng,
        device=device,
        world=world,
        ema=EMA(generator, config.ema) if config.ema > 0 else None,
    )
