"""`g_init = "vae"`: pre-train G as the decoder of a VAE (Kingma & Welling 2014) on the same data,
then start the GAN from it. The first tutorial asks whether this helps.

The VAE's prior is the Gaussian N(0, s^2 I) whose per-coordinate variance s^2 is that of the
GAN's prior, so the decoder learns on z of the scale the GAN will feed it: exact for `normal`;
for `sphere` (radius sqrt(z_dim), so each coordinate has variance 1) close in high dimension;
for `uniform` on [-1, 1] (variance 1/3) only a match of the first two moments, since a uniform
prior has no KL-friendly posterior family.
Likelihood: Bernoulli on pixels scaled to [0, 1] (binary cross-entropy, summed over pixels).
"""

from __future__ import annotations

import math
import sys
import time

import torch
import torch.nn.functional as F
from torch import Tensor

from counterfeit.data.sampler import InMemorySampler
from counterfeit.models.vae import MLPEncoder
from counterfeit.rundir import VAE_LOG_FILE, VAE_SAMPLES_FILE, RunDir
from counterfeit.sampling import render
from counterfeit.seeds import Stream, stream_seed
from counterfeit.train.cadence import due
from counterfeit.train.state import TrainState
from counterfeit.viz import save_grid

VAE_LR = 1e-3  # Adam for encoder and decoder alike
PRIOR_STD = {"normal": 1.0, "sphere": 1.0, "uniform": 1.0 / math.sqrt(3.0)}


def vae_loss(x01: Tensor, recon01: Tensor, mean: Tensor, log_var: Tensor,
             prior_std: float) -> tuple[Tensor, Tensor]:
    """Per image: -E_q[log p(x|z)] (binary cross-entropy) and KL(N(mean, e^log_var) || N(0, prior_std^2))."""
    n = x01.shape[0]
    reconstruction = F.binary_cross_entropy(recon01.clamp(1e-6, 1 - 1e-6), x01, reduction="sum") / n
    prior_var = prior_std ** 2
    kl = 0.5 * ((log_var.exp() + mean.square()) / prior_var - 1 - log_var + math.log(prior_var)).sum() / n
    return reconstruction, kl


def pretrain_vae(state: TrainState, pixels: Tensor, run: RunDir | None, quiet: bool) -> None:
    """Trains state.generator in place as the VAE's decoder for config.vae_steps steps, logging
    to vae.jsonl (when this process writes the run); the EMA (if on) restarts from the result."""
    config, generator = state.config, state.generator
    low, high = config.pixel_range
    prior_std = PRIOR_STD[config.prior]
    encoder = MLPEncoder(config.z_dim, leaky_slope=config.leaky_slope).to(state.device)
    params = [*encoder.parameters(), *generator.parameters()]
    optimizer = torch.optim.Adam(params, lr=VAE_LR)
    sampler = InMemorySampler(pixels, config.batch_size, seed=stream_seed(config.seed, Stream.VAE_BATCHES))
    rng = torch.Generator(state.device).manual_seed(stream_seed(config.seed, Stream.VAE_NOISE))
    if run and not quiet:
        print(f"pre-training G as a VAE decoder: {config.vae_steps} steps", file=sys.stderr, flush=True)
    started = time.perf_counter()
    for step in range(1, config.vae_steps + 1):
        x = sampler.next()  # (B, 1, 28, 28) in the pixel range
        mean, log_var = encoder(x)  # (B, z_dim) each
        eps = torch.randn(mean.shape, generator=rng, device=state.device)
        z = mean + (0.5 * log_var).exp() * eps  # reparameterised z ~ q(z|x)
        recon01 = (generator(z) - low) / (high - low)  # (B, 1, 28, 28) in [0, 1]
        reconstruction, kl = vae_loss((x - low) / (high - low), recon01, mean, log_var, prior_std)
        optimizer.zero_grad(set_to_none=True)
        (reconstruction + kl).backward()
        optimizer.step()
        if run and (step == 1 or due(step, config.log_every, config.vae_steps)):
            run.append_jsonl(VAE_LOG_FILE, {
                "step": step, "loss": (reconstruction + kl).item(), "reconstruction": reconstruction.item(),
                "kl": kl.item(), "seconds": round(time.perf_counter() - started, 3)})
    if state.ema is not None:
        state.ema.restart_from(generator)
    if run:
        save_decoder_samples(state, run)


def save_decoder_samples(state: TrainState, run: RunDir) -> None:
    """The pre-trained decoder on draws from the GAN's prior: where the GAN starts."""
    config = state.config
    rng = torch.Generator(state.device).manual_seed(stream_seed(config.seed, Stream.VAE_GRID))
    z = state.prior.sample(config.grid_size, rng, state.device)
    save_grid(render(state.generator, z, config.pixel_range), run.path / VAE_SAMPLES_FILE)
