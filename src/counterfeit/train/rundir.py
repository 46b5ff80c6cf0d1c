"""The run directory: the unit of record of a training run.

    config.toml                 resolved config + [run] seed, data, library versions
    metrics.jsonl               one JSON object per log line
    samples/step_NNNNNN.png     grids of the same fixed noise
    progress.gif, losses.png    written at the end
    generator.safetensors, discriminator.safetensors
    generator_raw.safetensors   G's own weights when ema > 0 (generator.safetensors is the average)
    vae.jsonl, vae_samples.png  G's VAE pre-training when g_init = "vae"
    report.html                 the run on one page (counterfeit/report/), refreshed at each checkpoint
    tensorboard/                TensorBoard event files when tensorboard = true
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save as safetensors_bytes

from counterfeit import __version__
from counterfeit.config import Config, to_toml
from counterfeit.errors import UserError
from counterfeit.fileio import atomic_write_bytes, atomic_write_text

CONFIG_FILE = "config.toml"
METRICS_FILE = "metrics.jsonl"
SAMPLES_DIR = "samples"
GENERATOR_FILE = "generator.safetensors"
DISCRIMINATOR_FILE = "discriminator.safetensors"
RAW_GENERATOR_FILE = "generator_raw.safetensors"
PROGRESS_GIF = "progress.gif"
REPORT_FILE = "report.html"
TENSORBOARD_DIR = "tensorboard"


def default_run_path(config: Config, root: Path = Path("runs")) -> Path:
    return root / f"{config.preset}-{time.strftime('%Y%m%d-%H%M%S')}"


def is_run_dir(path: Path) -> bool:
    return (path / CONFIG_FILE).is_file()


def check_new_run_dir(path: Path) -> None:
    """Refuse to write into a non-empty directory: whatever is there stays untouched."""
    if path.exists() and not path.is_dir():
        raise UserError(f"--out {path}: exists and is not a directory")
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
        (path / SAMPLES_DIR).mkdir(parents=True, exist_ok=True)
        run = cls(path)
        atomic_write_text(path / CONFIG_FILE, to_toml(config, {**run_info, **environment()}))
        return run

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


def read_metrics(path: Path) -> list[dict[str, Any]]:
    metrics = path / METRICS_FILE
    if not metrics.exists():
        return []
    return [json.loads(line) for line in metrics.read_text("utf-8").splitlines() if line.strip()]


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

