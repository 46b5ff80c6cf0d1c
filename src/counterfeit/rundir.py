"""The run directory: the unit of record of a training run. Every file name of it lives here.

    config.toml                 resolved config + [run] data, command line, git commit, library
                                versions, and at the end the run's duration
    metrics.jsonl               one JSON object per log line
    samples/step_NNNNNN.png     grids of the same fixed noise
    checkpoints/step_NNNNNN.safetensors
    progress.gif, losses.png    written at the end; metrics.png too when eval_every > 0
    generator.safetensors, discriminator.safetensors
    generator_raw.safetensors   G's own weights when ema > 0 (generator.safetensors is the average)
    vae.jsonl, vae_samples.png  G's VAE pre-training when g_init = "vae"
    eval.json                   the last `counterfeit eval` of the run
    to_quality.json             `counterfeit bench --to-quality`: seconds and steps to the preset's target
    train.lock                  held by the process training the run
    report.html                 the run on one page (counterfeit/report/), refreshed at each checkpoint
    tensorboard/                TensorBoard event files when tensorboard = true
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from safetensors.torch import save as safetensors_bytes

from counterfeit._version import __version__
from counterfeit.config import Config, from_mapping, read_toml, to_toml
from counterfeit.errors import UserError

try:
    import fcntl
except ImportError:  # Windows: no flock; runs go unguarded there
    fcntl = None  # type: ignore[assignment]
from counterfeit.fileio import atomic_write_bytes, atomic_write_text
from counterfeit.provenance import provenance

CONFIG_FILE = "config.toml"
METRICS_FILE = "metrics.jsonl"
SAMPLES_DIR = "samples"
GENERATOR_FILE = "generator.safetensors"
DISCRIMINATOR_FILE = "discriminator.safetensors"
RAW_GENERATOR_FILE = "generator_raw.safetensors"
CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_NAME = re.compile(r"^step_(\d{6,})\.safetensors$")  # in CHECKPOINT_DIR; the group: the step
PROGRESS_GIF = "progress.gif"
LOSSES_PLOT = "losses.png"
METRICS_PLOT = "metrics.png"
VAE_LOG_FILE = "vae.jsonl"
VAE_SAMPLES_FILE = "vae_samples.png"
EVAL_FILE = "eval.json"
TO_QUALITY_FILE = "to_quality.json"  # `counterfeit bench --to-quality`: time to the preset's target
LOCK_FILE = "train.lock"
REPORT_FILE = "report.html"
TENSORBOARD_DIR = "tensorboard"


def default_run_path(config: Config, root: Path = Path("runs")) -> Path:
    return root / f"{config.preset}-{time.strftime('%Y%m%d-%H%M%S')}"


def is_run_dir(path: Path) -> bool:
    return (path / CONFIG_FILE).is_file()


# What a run writes at its top level, and the folders it fills: a file there is the run's record
RUN_FILES = (CONFIG_FILE, METRICS_FILE, GENERATOR_FILE, DISCRIMINATOR_FILE, RAW_GENERATOR_FILE, PROGRESS_GIF,
             LOSSES_PLOT, METRICS_PLOT, VAE_LOG_FILE, VAE_SAMPLES_FILE, EVAL_FILE, TO_QUALITY_FILE, LOCK_FILE,
             REPORT_FILE)
RUN_FOLDERS = (SAMPLES_DIR, CHECKPOINT_DIR, TENSORBOARD_DIR)


def resume_command(run_path: Path | str, processes: int = 1) -> str:
    """How to continue the run: a resume needs as many processes as wrote it."""
    launcher = f"torchrun --nproc_per_node {processes} -m counterfeit" if processes > 1 else "counterfeit"
    return f"{launcher} train --resume {run_path}"


def has_run_files(path: Path) -> bool:
    """Whether `path` holds a run's record (a run whose config.toml is lost still may): not only
    files other tools write too (a report.html)."""
    return any((path / name).exists() for name in (CONFIG_FILE, METRICS_FILE, GENERATOR_FILE, *RUN_FOLDERS))


def run_owning(path: Path) -> Path | None:
    """The run directory of which `path` would be one of the run's own files (a top-level name
    the run writes, or anything in its folders), or None."""
    path = Path(os.path.abspath(path))  # `..` collapsed, links kept: RUN/samples/../mine.png is RUN/mine.png
    if path.name in RUN_FILES and is_run_dir(path.parent):
        return path.parent
    return next((folder.parent for folder in path.parents
                 if folder.name in RUN_FOLDERS and is_run_dir(folder.parent)), None)


def check_new_run_dir(path: Path) -> None:
    """Refuse to write into a non-empty directory: whatever is there stays untouched."""
    if path.exists() and not path.is_dir():
        raise UserError(f"--out {path}: exists and is not a directory")
    nearest = next(folder for folder in path.absolute().parents if folder.exists())
    if not nearest.is_dir():
        raise UserError(f"--out {path}: {nearest} is not a directory")
    if path.is_dir() and any(path.iterdir()):
        what = "is an existing run" if is_run_dir(path) else "is not empty and is not a run"
        raise UserError(f"--out {path}: {what}; choose a new directory")


class RunDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.samples = path / SAMPLES_DIR

    @classmethod
    def create(cls, path: Path, config: Config, run_info: dict[str, Any]) -> "RunDir":
        check_new_run_dir(path)
        try:
            (path / SAMPLES_DIR).mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UserError(f"--out {path}: cannot create the run directory ({err.strerror})") from None
        run = cls(path)
        atomic_write_text(path / CONFIG_FILE, to_toml(config, {**run_info, **provenance(), **environment()}))
        return run

    def record_run_info(self, **values: Any) -> None:
        """Add or replace keys of config.toml's [run] table (a finished run's duration, ...)."""
        path = self.path / CONFIG_FILE
        run_info = read_toml(path).get("run", {})
        atomic_write_text(path, to_toml(load_run_config(self.path), {**run_info, **values}))

    def append_metrics(self, record: dict[str, Any]) -> None:
        self.append_jsonl(METRICS_FILE, record)

    def append_jsonl(self, name: str, record: dict[str, Any]) -> None:
        with open(self.path / name, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        return read_metrics(self.path)

    def sample_path(self, step: int) -> Path:
        return self.samples / f"step_{step:06d}.png"

    def save_weights(self, name: str, module: torch.nn.Module) -> None:
        tensors = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
        atomic_write_bytes(self.path / name, safetensors_bytes(tensors))


def load_run_config(run_dir: Path) -> Config:
    """The config a run was trained with (its `[run]` record aside)."""
    values = read_toml(run_dir / CONFIG_FILE)
    values.pop("run", None)
    return from_mapping(values, str(run_dir / CONFIG_FILE))


def read_metrics(path: Path) -> list[dict[str, Any]]:
    return read_jsonl(path / METRICS_FILE)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of a file that a process appends to a line at a time (a run's metrics.jsonl, an
    experiment's events.jsonl): a last line cut short, as a kill mid-write leaves it (or a writer
    still writing it), is left out; a bad line before it is damage, refused naming the file."""
    if not path.exists():
        return []
    numbered = [(number, line) for number, line in
                enumerate(path.read_text("utf-8", errors="replace").splitlines(), 1) if line.strip()]
    records = []
    for number, line in numbered:
        record = _json_object(line)
        if record is not None:
            records.append(record)
        elif number != numbered[-1][0]:
            raise UserError(f"{path}: line {number} is not a JSON object; the file is damaged")
    return records


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def environment() -> dict[str, Any]:
    """Library versions and machine, recorded so a run can be compared or reproduced later."""
    return {
        "counterfeit": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "torch_threads": torch.get_num_threads(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


# -- one process trains a run directory at a time: an advisory lock on RUN_DIR/train.lock -------
# The kernel drops the lock when the process ends however it ends (even SIGKILL), so a crashed run
# never leaves a stale lock behind. The file itself stays: removing it would race a second process.


class RunLocked(UserError):
    """Another process is training the run (one that is still running, so not a failure of it)."""


@contextmanager
def run_lock(run_path: Path) -> Iterator[None]:
    """Hold the run's lock, or fail at once naming the process that holds it."""
    if fcntl is None:
        yield
        return
    # "a+": opening must not change the file, since another process may own it.
    with open(run_path / LOCK_FILE, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise RunLocked(f"{run_path}: is being trained by another process (pid {holder})") from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


def lock_held(run_path: Path) -> bool:
    """Whether a process trains the run now (holds `run_lock`). A shared lock is taken and dropped
    at once on the file opened read-only, which changes nothing; a trainer starting in that instant
    is told the run is busy, and a second try goes through."""
    if fcntl is None:
        return False
    try:
        handle = open(run_path / LOCK_FILE, "rb")
    except OSError:  # no lock file: never trained here
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
