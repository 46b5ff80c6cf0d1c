"""Resuming a run directory: which config, and putting its records back to the checkpoint's step.

Only the run's length (`steps`, `epochs`, `max_seconds`) may change on resume, whether it also
writes TensorBoard events, and `device` (where it runs, as long as that is the kind of device its
checkpoint was written on); any other change would make the continuation a different run.
Records written after the checkpoint (metrics lines, sample grids) are dropped, so the resumed run
writes each step once and its files match those of an uninterrupted run; with no checkpoint the
run starts over, so what it wrote before step 0 (VAE pre-training) goes too.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Mapping

from counterfeit.config import (Config, from_mapping, read_toml, resolve_epochs,
                                steps_turn_off_epochs, to_dict, to_toml)
from counterfeit.data.dataset import Dataset
from counterfeit.data.loading import absolute_data
from counterfeit.errors import ConfigError, UserError
from counterfeit.fileio import atomic_write_text
from counterfeit.train.checkpoint import Checkpoint, CheckpointError, device_of, processes_of
from counterfeit.rundir import (CHECKPOINT_DIR, CONFIG_FILE, METRICS_FILE, VAE_LOG_FILE, VAE_SAMPLES_FILE, RunDir,
                                is_run_dir, load_run_config)

MAY_CHANGE = ("steps", "epochs", "max_seconds", "tensorboard",  # tensorboard: a view of the run, not its maths
              "device")  # where it runs; its checkpoint continues only on its own kind of device (check_device)


def resume_config(run_path: Path, overrides: Mapping[str, Any], origin: str = "--set") -> Config:
    """The run's config with `overrides` applied; an override that changes anything but
    `steps`, `epochs` or `max_seconds` is refused, naming the key and both values. The steps are those recorded
    (an `epochs` run's resolved steps) unless the overrides give new steps or new epochs. `origin`:
    what an error about an override's key or value names (the options or file that gave it)."""
    if not is_run_dir(run_path):
        raise UserError(f"--resume {run_path}: not a run directory (no {CONFIG_FILE})")
    saved = load_run_config(run_path)
    if overrides.get("precision") == "auto":  # resolved once, when the run started: its record is the answer
        overrides = {**overrides, "precision": saved.precision}
    if "data" in overrides:
        overrides = {**overrides, "data": _given_data(overrides["data"], saved.data)}
    wanted = from_mapping({**to_dict(saved), **steps_turn_off_epochs(overrides)}, origin) if overrides else saved
    key = _first_difference(saved, wanted)
    if key is not None:
        raise ConfigError(f"--resume {run_path}: the options ask for {key} = {getattr(wanted, key)!r} but "
                          f"{run_path / CONFIG_FILE} has {getattr(saved, key)!r}; "
                          "only the length (--steps, epochs, max_seconds), tensorboard and device may change")
    if wanted.epochs and (wanted.epochs, wanted.steps) != (saved.epochs, saved.steps):
        # new epochs, or steps given beside them (a config file's): the steps from epochs and the
        # run's data (its fingerprint is checked later), as a new run resolves them
        images = read_toml(run_path / CONFIG_FILE).get("run", {}).get("data_images")
        if not isinstance(images, int):
            raise ConfigError(f"{run_path / CONFIG_FILE}: [run] data_images is missing, so epochs cannot change")
        wanted = resolve_epochs(wanted, images)
    return wanted


def _given_data(given: str | os.PathLike[str], recorded: str) -> str:
    """`--data` given to a resume, as the run spells it when both name the same file: a run
    records an absolute path (an older one, the path as it was given)."""
    given = absolute_data(given)
    try:
        same = given != recorded and os.path.samefile(given, recorded)
    except OSError:  # either is missing: they are compared as spelled
        same = False
    return recorded if same else given


def check_checkpoint_config(checkpoint: Checkpoint, config: Config) -> None:
    """config.toml edited after the checkpoint was written: continuing would mix two runs."""
    try:
        saved = from_mapping(tomllib.loads(checkpoint.config_toml), str(checkpoint.path))
    except (tomllib.TOMLDecodeError, ConfigError) as err:
        raise CheckpointError(f"{checkpoint.path}: unreadable config ({err})") from None
    key = _first_difference(saved, config)
    if key is not None:
        raise ConfigError(f"{checkpoint.path.parent.parent / CONFIG_FILE}: {key} = {getattr(config, key)!r} "
                          f"but checkpoint {checkpoint.path.name} was trained with {getattr(saved, key)!r}")


def check_processes(checkpoint: Checkpoint, processes: int) -> None:
    """Each process's dropout masks come from its own RNG, saved per rank: another number of
    processes would draw other masks (and find no saved RNG for the new ranks)."""
    written = processes_of(checkpoint)
    if written != processes:
        raise UserError(f"--resume {checkpoint.path.parent.parent}: checkpoint {checkpoint.path.name} was written by "
                        f"{_processes(written)}, this resume runs {_processes(processes)}; resume it with {written}")


def check_device(checkpoint: Checkpoint, device: str) -> None:
    """The noise and augmentation generators live on the training device, and a CUDA generator's
    state is not a CPU one's: the run continues, draw for draw, only on the kind of device it was on."""
    written = device_of(checkpoint)
    if written != device:
        where = "with --device cpu" if written == "cpu" else "on a machine with a CUDA GPU"
        raise UserError(f"--resume {checkpoint.path.parent.parent}: checkpoint {checkpoint.path.name} was written on "
                        f"{written}, this resume would run on {device}; resume it {where}")


def _processes(count: int) -> str:
    return f"{count} process{'es' if count != 1 else ''}"


def _first_difference(saved: Config, wanted: Config) -> str | None:
    old, new = to_dict(saved), to_dict(wanted)
    return next((key for key in old if key not in MAY_CHANGE and old[key] != new[key]), None)


def check_same_data(run_path: Path, dataset: Dataset) -> None:
    recorded = read_toml(run_path / CONFIG_FILE).get("run", {}).get("data_fingerprint")
    if recorded is not None and recorded != dataset.fingerprint:
        raise UserError(f"--resume {run_path}: the data {dataset.source} has changed since the run "
                        "started (its fingerprint differs from the one in config.toml)")


def record_config(run: RunDir, config: Config) -> None:
    """Rewrite config.toml with the new length (`steps`, `epochs`), keeping its [run] table."""
    path = run.path / CONFIG_FILE
    run_info = read_toml(path).get("run", {})
    if load_run_config(run.path) != config:
        atomic_write_text(path, to_toml(config, run_info))


def rewind(run: RunDir, step: int) -> None:
    """Drop metrics lines and sample grids after `step` (a half-written last line included), the
    record of a failure (train/views.py; the resume goes on past it), temp files a killed writer
    left (the run's lock says no writer is alive), and at step 0 (no checkpoint: the run starts
    over) the records of VAE pre-training, which runs again."""
    run.samples.mkdir(exist_ok=True)  # removed by hand: the grids to come still need it (the report lists the lost ones)
    for folder in (run.path, run.samples, run.path / CHECKPOINT_DIR):
        for temp in folder.glob(".*.tmp"):
            temp.unlink()
    metrics = run.path / METRICS_FILE
    if metrics.exists():
        kept = [line for line in metrics.read_text("utf-8").splitlines() if _step_of(line) is not None
                and _step_of(line) <= step]
        atomic_write_text(metrics, "".join(line + "\n" for line in kept))
    for grid in run.samples.glob("step_*.png"):
        if int(grid.stem.removeprefix("step_")) > step:
            grid.unlink()
    if step == 0:
        for name in (VAE_LOG_FILE, VAE_SAMPLES_FILE):
            (run.path / name).unlink(missing_ok=True)


def _step_of(line: str) -> int | None:
    """A record's step; None for a line that is not a record, or records a failure."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record.get("step") if isinstance(record, dict) and "failed" not in record else None
