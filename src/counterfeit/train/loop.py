"""The training loop: orchestrates the step, logging, snapshots, checkpoints and the run directory."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor

from counterfeit.config import Config, resolve_epochs
from counterfeit.data.dataset import Dataset
from counterfeit.data.channels import require_channels
from counterfeit.data.labels import require_labels
from counterfeit.data.loading import absolute_data, load_dataset
from counterfeit.data.sampler import InMemorySampler, to_pixels
from counterfeit.errors import ConfigError
from counterfeit.models.selfcond import fit_clusters
from counterfeit.report.tensorboard import require_tensorboard
from counterfeit.rundir import (DISCRIMINATOR_FILE, GENERATOR_FILE, LOSSES_PLOT, METRICS_PLOT, PROGRESS_GIF,
                                RAW_GENERATOR_FILE, RunDir, check_new_run_dir, default_run_path, resume_command,
                                run_lock)
from counterfeit.seeds import Stream, stream_seed
from counterfeit.train.budget import TimeBudget
from counterfeit.train.cadence import due
from counterfeit.train.checkpoint import Checkpoint, latest_checkpoint, restore, rng_states, save_checkpoint
from counterfeit.train.device import resolve_device
from counterfeit.train.distributed import (Agreement, World, check_split, init_world, join, leaving_together,
                                           use_device, world_from_env)
from counterfeit.train.guard import NonFiniteGuard
from counterfeit.train.handover import Resumption, hand_over
from counterfeit.train.interrupt import TrainingStopped, stop_on_signals
from counterfeit.train.precision import warn_if_emulated
from counterfeit.train.progress import Progress
from counterfeit.train.resume import (check_checkpoint_config, check_device, check_processes, check_same_data,
                                      record_config, resume_config, rewind)
from counterfeit.train.snapshots import Snapshots
from counterfeit.train.state import StepOutput, TrainState, build_state
from counterfeit.train.step import make_step
from counterfeit.train.vae import pretrain_vae
from counterfeit.train.views import RunViews
from counterfeit.train.watch import StopWhen, TrainingWatch
from counterfeit.viz import plot_losses


def train(config: Config, out: str | Path | None = None, quiet: bool = False, stop_when: StopWhen | None = None
          ) -> Path:
    """Train a GAN as `config` says; returns the run directory. Under torchrun, every process runs
    this with its share of each batch (see train/distributed.py); rank 0 writes the run directory.
    `stop_when(eval record)` ends the run, checkpointed, at the first in-training eval it accepts."""
    config = config.replace(data=absolute_data(config.data))  # the record must name the file from anywhere
    world = init_world(config)
    with leaving_together(world):
        path = Path(out) if out is not None else default_run_path(config)
        path = Path(world.from_main(str(path).encode()).decode())  # rank 0's: a default name holds its clock time
        if world.is_main:
            check_new_run_dir(path)  # before any work: a bad --out costs nothing
            if config.tensorboard:
                require_tensorboard()
        dataset = load_data(config)
        config = resolve_epochs(config, len(dataset))  # the saved config.toml records the resolved steps
        # Every process evaluates the same synchronised G on the same noise, so all stop together.
        watch = TrainingWatch(config, dataset, quiet or not world.is_main, stop_when)  # loads the evaluator first
        state = build_state(config, world)
        config = state.config  # precision "auto" resolved: the record holds what the run computes in
        run = None if not world.is_main else RunDir.create(  # other processes write nothing
            path, config, {"data_source": dataset.source, "data_images": len(dataset),
                           "data_fingerprint": dataset.fingerprint, "device": str(state.device),
                           "processes": world.size,
                           **visible_devices(),
                           **({"data_classes": list(dataset.classes)} if dataset.classes else {})})
        with run_lock(path) if run else contextlib.nullcontext(), RunViews.of(run, state) as views:
            seconds = run_steps(run, state, dataset, watch, quiet, world, views=views)
            if run:
                run.record_run_info(duration_seconds=seconds)
    return path


def visible_devices() -> dict[str, str]:
    """The GPUs this process was given (by an experiment's worker, Ray, or by hand), for the record:
    `device` says cuda:0 on whichever GPU that is. A resume records its own beside the first's."""
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES")
    return {"cuda_visible_devices": gpus} if gpus is not None else {}


def resume(run_dir: str | Path, overrides: Mapping[str, Any] | None = None, quiet: bool = False,
           origin: str = "--set") -> Path:
    """Continue a run from its latest good checkpoint (from step 0 if it has none), with as many
    processes as wrote it. Under torchrun, rank 0 alone reads the run directory (train/handover.py).
    `origin`: what an error about an override names (resume_config)."""
    path = Path(run_dir)
    world = world_from_env()
    join(world)
    with leaving_together(world), contextlib.ExitStack() as held:  # rank 0's run lock, until the run ends
        resumption = hand_over(world, lambda: prepare_resume(path, overrides or {}, quiet, world, held, origin))
        config, checkpoint = resumption.config, resumption.checkpoint
        use_device(world, config)
        dataset = resumption.dataset if resumption.dataset is not None else load_data(config)
        watch = resumption.watch or TrainingWatch(config, dataset, quiet=True)
        if checkpoint is not None:
            watch.replay(resumption.records)
        run = RunDir(path) if world.is_main else None
        state = build_state(config, world)  # the recorded precision, never re-probed
        if world.is_main:
            warn_if_emulated(config.precision, state.device)
        with RunViews.of(run, state) as views:
            seconds = run_steps(run, state, dataset, watch, quiet, world, checkpoint, views)
            if run:
                resumed_on = {f"resume_{key}": value for key, value in visible_devices().items()}
                run.record_run_info(duration_seconds=seconds, resume_command=list(sys.argv), **resumed_on)
    return path


def prepare_resume(path: Path, overrides: Mapping[str, Any], quiet: bool, world: World,
                   held: contextlib.ExitStack, origin: str = "--set") -> Resumption:
    """Every check before anything changes, then, under the run's lock (kept in `held`), the run
    directory put back to its latest good checkpoint."""
    config = resume_config(path, overrides, origin)
    check_split(config, world.size)
    if config.tensorboard:
        require_tensorboard()
    dataset = load_data(config)
    check_same_data(path, dataset)
    watch = TrainingWatch(config, dataset, quiet)
    held.enter_context(run_lock(path))
    checkpoint = latest_checkpoint(path)
    if checkpoint is not None:
        check_checkpoint_config(checkpoint, config)
        check_processes(checkpoint, world.size)
        check_device(checkpoint, resolve_device(config.device, world.local_rank).type)
        if checkpoint.step > config.steps:
            raise ConfigError(f"steps = {config.steps}: {checkpoint.path} is already at step {checkpoint.step}; "
                              "give more steps (--steps N)")
    run = RunDir(path)
    record_config(run, config)
    rewind(run, checkpoint.step if checkpoint else 0)
    return Resumption(config, checkpoint, run.read_metrics() if checkpoint else [], dataset, watch)


def load_data(config: Config) -> Dataset:
    dataset = load_dataset(config.data, config.invert, config.skip_bad, config.seed, config.stacked_size)
    require_channels(dataset, config)
    if config.batch_size > len(dataset):
        raise ConfigError(f"batch_size: {config.batch_size} exceeds the {len(dataset)} images of {dataset.source}")
    if config.clusters > len(dataset):  # k-means would fail once the run directory is made
        raise ConfigError(f"clusters: {config.clusters} exceeds the {len(dataset)} images of {dataset.source}")
    require_labels(dataset, config)
    return dataset


def run_steps(run: RunDir | None, state: TrainState, dataset: Dataset, watch: TrainingWatch, quiet: bool,
              world: World, checkpoint: Checkpoint | None = None, views: RunViews | None = None) -> float:
    """From the state (fresh, or restored from `checkpoint`) to the end of the run; `run` and
    `views` are None on the processes that write nothing. Returns the run's seconds on the clock of
    metrics.jsonl: VAE pre-training included, and a resumed run's include those before its checkpoint."""
    config = state.config
    pixels = to_pixels(dataset.images, config.pixel_range).to(state.device)
    labels = torch.from_numpy(dataset.labels).to(state.device) if config.conditional else None
    sampler = InMemorySampler(pixels, config.batch_size, seed=stream_seed(config.seed, Stream.BATCHES), labels=labels)
    snapshots = Snapshots(state, run) if run else None
    append = run.append_metrics if run else (lambda record: None)  # only rank 0 writes metrics
    extras = {"snapshots": snapshots} if snapshots else {}  # checkpointed with the state
    # The run's clock: a resume goes on from its checkpoint's, and VAE pre-training (begin) counts.
    started = time.perf_counter() - (checkpoint.seconds if checkpoint else 0.0)
    if checkpoint is not None:
        restore(checkpoint, state, sampler, extras)
    else:
        begin(state, pixels, run, quiet, world, snapshots)
    last_checkpoint = checkpoint.path if checkpoint else None
    guard = NonFiniteGuard(state.device, state.step)
    progress = Progress(config.steps, state.step, quiet or not run,
                        plain_every=max(config.log_every, config.steps // 20))
    agreed_stop = Agreement(world)  # every process stops at the same step
    budget = TimeBudget(config.max_seconds, started, world)
    out_of_time = budget.spent_at(checkpoint.seconds if checkpoint else 0.0)
    step = make_step(state)  # chosen once: the hand-written MLP step or autograd
    with stop_on_signals() as stop:
        try:
            while state.step < config.steps and not out_of_time:
                real, labels = next_real(sampler, world, config.n_critic)  # a batch per D update
                output = step(real, labels)
                guard.watch(output)
                out_of_time = budget.spent()  # then this step is the last: logged and checkpointed
                if state.step == 1 or due(state.step, config.log_every, config.steps) or out_of_time:
                    guard.check(state.step, last_checkpoint)  # no NaN in the log
                    record = log_record(output, state, time.perf_counter() - started, len(dataset))
                    append(record)
                    progress.log(record)
                    watch.on_losses(record, append)
                watch.on_step(state.step, lambda: state.sampling_generator, append)
                if snapshots:
                    snapshots.take(state)
                signum = agreed_stop(stop.signum or 0)
                if (due(state.step, config.checkpoint_every, config.steps) or signum or watch.stop
                        or out_of_time):
                    guard.check(state.step, last_checkpoint)  # never checkpoint a NaN
                    rngs = rng_states(state)  # every process's, gathered for rank 0's checkpoint
                    if run:
                        last_checkpoint = save_checkpoint(run.path, state, sampler, time.perf_counter() - started,
                                                          keep=config.keep_checkpoints, rngs=rngs, extras=extras)
                    if views:
                        views.refresh(running=True)  # report.html and TensorBoard, up to this checkpoint
                if signum:
                    saved, where = ((f"checkpoint {last_checkpoint}", run.path) if run
                                    else ("rank 0's checkpoint", "RUN_DIR"))
                    raise TrainingStopped(f"stopped at step {state.step}; {saved} saved; "
                                          f"continue with: {resume_command(where, world.size)}", signum)
                progress.advance()
                if watch.stop:  # collapse_abort (a signal fired) or stop_when: the run ends here, checkpointed
                    break
        finally:
            agreed_stop.finish()
            budget.finish()
            progress.close()
    if out_of_time and run and not quiet:
        print(f"max_seconds: the {config.max_seconds:g} s budget is spent; stopped at step {state.step}",
              file=sys.stderr, flush=True)
    if run and snapshots:
        records = run.read_metrics()  # read once for both plots
        finish(state, run, snapshots, records)
        watch.finish(records, run.path / METRICS_PLOT)
    return round(time.perf_counter() - started, 3)


def next_real(sampler: InMemorySampler, world: World, n_critic: int) -> tuple[Tensor, Tensor | None]:
    """n_critic batches back to back (this process's rows of each), and their labels when the
    sampler has them."""
    batches = [sampler.next_labelled() for _ in range(n_critic)]
    labels = None if batches[0][1] is None else world.shard_each([labels for _, labels in batches])
    return world.shard_each([images for images, _ in batches]), labels


def begin(state: TrainState, pixels: Tensor, run: RunDir | None, quiet: bool, world: World,
          snapshots: Snapshots | None) -> None:
    """Before step 0 of a fresh run (a resumed one has all this in its checkpoint): G's optional
    VAE pre-training, the same weights on every process, the step-0 snapshot."""
    if state.config.g_init == "vae":
        pretrain_vae(state, pixels, run, quiet)
    if state.config.clusters:  # the centroids and shares are buffers of D and G: checkpointed with them
        fit_clusters(state.generator, state.discriminator, pixels, stream_seed(state.config.seed, Stream.CLUSTERS))
        if state.ema is not None:
            state.ema.restart_from(state.generator)
    world.broadcast_modules(state.generator, state.discriminator)
    if snapshots:
        snapshots.take(state)


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


def finish(state: TrainState, run: RunDir, snapshots: Snapshots, records: list[dict[str, Any]]) -> None:
    run.save_weights(GENERATOR_FILE, state.sampling_generator)  # the EMA weights when ema > 0
    if state.ema is not None:
        run.save_weights(RAW_GENERATOR_FILE, state.generator)
    run.save_weights(DISCRIMINATOR_FILE, state.discriminator)
    snapshots.close(state)
    snapshots.write_gif(run.path / PROGRESS_GIF)
    plot_losses(records, run.path / LOSSES_PLOT, title=f"{state.config.preset}: losses")
