"""Everything a training step reads and updates, in one place (and so in one checkpoint)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from counterfeit import private_ops
from counterfeit.augment import augment
from counterfeit.config import Config
from counterfeit.losses import LOSSES, GanLoss
from counterfeit.models import build_discriminator, build_generator
from counterfeit.priors import Prior
from counterfeit.seeds import Stream, rank_seed, stream_seed
from counterfeit.train.device import resolve_device
from counterfeit.train.distributed import World
from counterfeit.train.ema import EMA, has_batch_norm, stats_inputs
from counterfeit.train.precision import resolve_precision


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
    augment_rng: torch.Generator | None = None  # DiffAugment's draws, when config.augment lists any
    step: int = 0  # updates completed
    world: World = World()  # which process of how many (torchrun); one by default

    @property
    def images_seen(self) -> int:
        """Real images D has read: each step takes n_critic batches."""
        return self.step * self.config.batch_size * self.config.n_critic

    @property
    def sampling_generator(self) -> nn.Module:
        """The generator that snapshots, saved weights and evaluation use: the average when on
        (with a batch-norm G, a changed average first gets its statistics recomputed: ask for it
        only when it is about to be used)."""
        return self.ema.averaged() if self.ema is not None else self.generator

    def noise(self, n: int, draws: int = 1) -> Tensor:
        """This process's slice of each of `draws` global draws of n rows per process, the values
        `draws` consecutive draws give: N processes use the noise one process would, and a step
        that draws for all its updates at once, the noise of one that draws for each."""
        rows = n * self.world.size
        if self.device.type == "cpu":  # the CPU's generator hands out numbers in sequence: one call for all
            z = self.prior.sample(draws * rows, self.noise_rng, self.device)
        else:  # a GPU's (Philox) hands them out by thread: a draw of 2m values is not two draws of m
            z = torch.cat([self.prior.sample(rows, self.noise_rng, self.device) for _ in range(draws)])
        return z if self.world.size == 1 else torch.cat([self.world.shard(part) for part in z.chunk(draws)])

    def augmented(self, images: Tensor) -> Tensor:
        """`images` (this process's n rows) as D sees them: config.augment's augmentations, drawn
        like the noise, for the global batch at once with this process keeping its rows, so N
        processes augment as one would; the images themselves without augmentation."""
        if self.augment_rng is None:
            return images
        return augment(images, self.config.augmentations, self.augment_rng, rows=len(images) * self.world.size,
                       keep=self.world.shard)

    def end_step(self) -> None:
        """After a step's updates: the EMA follows G, the step is counted, and the next step's
        learning rates are set."""
        if self.ema is not None:
            self.ema.update(self.generator, self.step)
        self.step += 1
        self.schedule_learning_rates()

    def schedule_learning_rates(self) -> None:
        """Both optimisers' rates for the update at `self.step`: a function of the step alone, so a
        resumed run (whose checkpoint's rates this overwrites) and torchrun's processes agree."""
        scale = lr_scale(self.step, self.config.steps, self.config.lr_decay)
        for optimizer, lr in ((self.d_opt, self.config.lr_d), (self.g_opt, self.config.lr_g)):
            for group in optimizer.param_groups:
                group["lr"] = lr * scale


def lr_scale(step: int, steps: int, decay: float) -> float:
    """1 until the last `decay` fraction of `steps`, then falling linearly: the update at step t
    (0-based) gets (steps - t) / (decay * steps), so the last update still moves (1 / span) and
    the next one, were there one, would not."""
    span = decay * steps
    return 1.0 if span <= 0 else min(1.0, max(steps - step, 0) / span)


def make_adam(module: nn.Module, lr: float, config: Config, device: torch.device) -> torch.optim.Adam:
    # fused Adam: one kernel over all parameters instead of a loop of small ops (CPU and CUDA),
    # where this PyTorch has it (train/adam.py calls the kernel directly)
    fused = device.type in ("cpu", "cuda") and private_ops.fused_adam_works()
    return torch.optim.Adam(module.parameters(), lr=lr, betas=config.betas, eps=config.adam_eps, fused=fused)


def weight_layout(device: torch.device, precision: str) -> torch.memory_format:
    """Channels-last conv weights on the CPU in float32: oneDNN then runs the convolutions, and the
    activations they produce, in NHWC without reordering each call (dcgan's and cdcgan's step
    1.01-1.11x side by side, docs/benchmarks.md "Conv step"). Under bf16 autocast it measured no
    faster (dcgan) or slower (cdcgan 1.56x over fp32 against 1.75x in NCHW), so NCHW there. Only 4-d
    tensors change; the MLPs' weights stay as they are."""
    fast = device.type == "cpu" and precision == "fp32"
    return torch.channels_last if fast else torch.preserve_format


def build_state(config: Config, world: World = World()) -> TrainState:
    """Seeds every RNG from `config.seed`, then builds models and optimisers in a fixed order;
    `precision = "auto"` becomes what this device runs fast (the state's config records it)."""
    torch.manual_seed(config.seed)  # parameter init and dropout draw from torch's global RNG
    random.seed(config.seed)  # nothing draws from these yet; seeded (and checkpointed) so that
    np.random.seed(config.seed)  # whatever does later stays reproducible
    device = resolve_device(config.device, world.local_rank)
    if config.precision == "auto":  # resolved once: the state's config is what the run records
        config = config.replace(precision=resolve_precision(config.precision, device))
    layout = weight_layout(device, config.precision)
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
        ema=make_ema(config, generator, device),
        augment_rng=(torch.Generator(device=device).manual_seed(stream_seed(config.seed, Stream.AUGMENT))
                     if config.augmentations else None),
    )


def make_ema(config: Config, generator: nn.Module, device: torch.device) -> EMA | None:
    """The average of G when config.ema > 0; with the fixed noise that recomputes its batch-norm
    statistics when G has batch norm."""
    if config.ema == 0:
        return None
    inputs = stats_inputs(config, Prior(config.prior, config.z_dim), device) if has_batch_norm(generator) else None
    return EMA(generator, config.ema, inputs)
