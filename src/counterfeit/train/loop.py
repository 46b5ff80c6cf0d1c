"""The training loop: orchestrates the step, logging, snapshots and the run directory."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from counterfeit.config import Config, resolve_epochs
from counterfeit.data.loading import load_dataset
from counterfeit.errors import ConfigError
from counterfeit.metrics.training import TrainingWatch
from counterfeit.data.sampler import InMemorySampler, to_pixels
from counterfeit.labels import require_labels
from counterfeit.train.conditioning import next_real
from counterfeit.train.progress import Progress
from counterfeit.train.rundir import (DISCRIMINATOR_FILE, GENERATOR_FILE, RAW_GENERATOR_FILE, RunDir,
                                      check_new_run_dir, default_run_path)
from counterfeit.train.distributed import close_world, init_world
from counterfeit.train.snapshots import Snapshots
from counterfeit.train.state import TrainState, build_state
from counterfeit.train.step import StepOutput, gan_step
from counterfeit.train.vae import pretrain_vae
from counterfeit.viz import plot_losses


def train(config: Config, out: str | Path | None = None, quiet: bool = False) -> Path:
    """Train a GAN as `config` says; returns the run directory. Under torchrun, every process runs
    this with its share of each batch (see train/distributed.py); rank 0 writes the run directory."""
    world = init_world(config)
    path = world.from_main(Path(out) if out is not None else default_run_path(config))
    if world.is_main:
        check_new_run_dir(path)  # before any work: a bad --out costs nothing
    dataset = load_dataset(None if config.data == "embedded" else config.data)
    if config.batch_size > len(dataset):
        raise ConfigError(f"batch_size: {config.batch_size} exceeds the {len(dataset)} images of {dataset.source}")
    config = resolve_epochs(config, len(dataset))  # the saved config.toml records the resolved steps
    require_labels(dataset, config)
    # Every process evaluates the same synchronised G on the same noise, so all stop together.
    watch = TrainingWatch(config, dataset, quiet or not world.is_main)  # loads the evaluator first
    state = build_state(config, world)
    run = None if not world.is_main else RunDir.create(  # other processes write nothing
        path, config, {"data_source": dataset.source, "data_images": len(dataset),
                       "data_fingerprint": dataset.fingerprint, "device": str(state.device),
                       "processes": world.size})
    pixels = to_pixels(dataset.images, config.pixel_range).to(state.device)
    labels = torch.from_numpy(dataset.labels).to(state.device) if config.conditional else None
    sampler = InMemorySampler(pixels, config.batch_size, seed=config.seed + 2, labels=labels)
    if config.g_init == "vae":
        pretrain_vae(state, pixels, run, quiet)
    world.broadcast_modules(state.generator, state.discriminator)
    snapshots = Snapshots(state, run) if run else None
    append = run.append_metrics if run else (lambda record: None)  # only rank 0 writes metrics

    if snapshots:
        snapshots.take(state)
    progress = Progress(config.steps, state.step, quiet or not run,
                        plain_every=max(config.log_every, config.steps // 20))
    started = time.perf_counter()
    try:
        while state.step < config.steps:
            real, labels = next_real(sampler, world, config.n_critic)  # a batch per D update
            output = gan_step(real, state, labels)
            if state.step == 1 or state.step % config.log_every == 0 or state.step == config.steps:
                record = log_record(output, state, time.perf_counter() - started, len(dataset))
                if run:
                    run.append_metrics(record)
                progress.log(record)
                watch.on_losses(record, append)
            watch.on_step(state.step, state.sampling_generator, append)
            if snapshots:
                snapshots.take(state)
            progress.advance()
            if watch.stop:
                break
    finally:
        progress.close()
    if run and snapshots:
        finish(state, run, snapshots)
        watch.finish(run.read_metrics(), run.path / "metrics.png")
    close_world(world)
    return path


def log_record(output: StepOutput, state: TrainState, seconds: float, dataset_size: int) -> dict:
    """The step's losses and mean D outputs over all processes; `.item()` syncs, so only log steps
    pay for it."""
    d_loss, g_loss, d_real, d_fake = state.world.average([
        output.d_loss.float(), output.g_loss.float(), torch.sigmoid(output.d_real_logits.float()).mean(),
        torch.sigmoid(output.d_fake_logits.float()).mean()])
    return {
        "step": state.step,
        "images_seen": state.images_seen,
        "epoch": round(state.images_seen / dataset_size, 4),
        "d_loss": d_loss.item(),
        "g_loss": g_loss.item(),
        "d_real": d_real.item(),
        "d_fake": d_fake.item(),
        "seconds": round(seconds, 3),
    }


def finish(state: TrainState, run: RunDir, snapshots: Snapshots) -> None:
    run.save_weights(GENERATOR_FILE, state.sampling_generator)  # the EMA weights when ema > 0
    if state.ema is not None:
        run.save_weights(RAW_GENERATOR_FILE, state.generator)
    run.save_weights(DISCRIMINATOR_FILE, state.discriminator)
    snapshots.write_gif(run.path / "progress.gif")
    plot_losses(run.read_metrics(), run.path / "losses.png", title=f"{state.config.preset}: losses")
