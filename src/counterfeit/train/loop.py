"""The training loop: orchestrates the step, logging, snapshots and the run directory."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from counterfeit.config import Config
from counterfeit.data.loading import load_dataset
from counterfeit.errors import ConfigError
from counterfeit.data.sampler import InMemorySampler, to_pixels
from counterfeit.train.progress import Progress
from counterfeit.train.rundir import (DISCRIMINATOR_FILE, GENERATOR_FILE, RunDir, check_new_run_dir,
                                      default_run_path)
from counterfeit.train.state import TrainState, build_state
from counterfeit.train.step import StepOutput, gan_step
from counterfeit.viz import plot_losses, save_grid, to_uint8, write_gif


def train(config: Config, out: str | Path | None = None, quiet: bool = False) -> Path:
    """Train a GAN as `config` says; returns the run directory."""
    path = Path(out) if out is not None else default_run_path(config)
    check_new_run_dir(path)  # before any work: a bad --out costs nothing
    dataset = load_dataset(None if config.data == "embedded" else config.data)
    if config.batch_size > len(dataset):
        raise ConfigError(f"batch_size: {config.batch_size} exceeds the {len(dataset)} images of {dataset.source}")
    state = build_state(config)
    run = RunDir.create(path, config, {"data_source": dataset.source, "data_images": len(dataset),
                                       "data_fingerprint": dataset.fingerprint,
                                       "device": str(state.device)})
    sampler = InMemorySampler(to_pixels(dataset.images, config.pixel_range).to(state.device),
                              config.batch_size, seed=config.seed + 2)
    fixed_noise = state.prior.sample(config.grid_size, torch.Generator(state.device).manual_seed(
        config.seed + 3), state.device)

    snapshot(state, fixed_noise, run)
    progress = Progress(config.steps, state.step, quiet, plain_every=max(config.log_every, config.steps // 20))
    started = time.perf_counter()
    try:
        while state.step < config.steps:
            output = gan_step(sampler.next(), state)
            if state.step == 1 or state.step % config.log_every == 0 or state.step == config.steps:
                record = log_record(output, state, time.perf_counter() - started, len(dataset))
                run.append_metrics(record)
                progress.log(record)
            if state.step % config.sample_every == 0 or state.step == config.steps:
                snapshot(state, fixed_noise, run)
            progress.advance()
    finally:
        progress.close()
    finish(state, run)
    return path


def log_record(output: StepOutput, state: TrainState, seconds: float, dataset_size: int) -> dict:
    """The step's losses and mean D outputs; `.item()` syncs, so only log steps pay for it."""
    return {
        "step": state.step,
        "images_seen": state.images_seen,
        "epoch": round(state.images_seen / dataset_size, 4),
        "d_loss": output.d_loss.item(),
        "g_loss": output.g_loss.item(),
        "d_real": torch.sigmoid(output.d_real_logits).mean().item(),
        "d_fake": torch.sigmoid(output.d_fake_logits).mean().item(),
        "seconds": round(seconds, 3),
    }


@torch.no_grad()
def snapshot(state: TrainState, fixed_noise: torch.Tensor, run: RunDir) -> None:
    state.generator.eval()
    images = state.generator(fixed_noise)
    state.generator.train()
    save_grid(to_uint8(images, state.config.pixel_range), run.sample_path(state.step))


def finish(state: TrainState, run: RunDir) -> None:
    run.save_weights(GENERATOR_FILE, state.generator)
    run.save_weights(DISCRIMINATOR_FILE, state.discriminator)
    write_gif(run.sample_frames(), run.path / "progress.gif")
    plot_losses(run.read_metrics(), run.path / "losses.png", title=f"{state.config.preset}: losses")
