"""Load a trained generator from a run directory and draw images from it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from counterfeit.config import Config, load_run_config
from counterfeit.errors import UserError
from counterfeit.fileio import atomic_write_bytes
from counterfeit.models import build_generator
from counterfeit.priors import Prior
from counterfeit.train.rundir import CONFIG_FILE, GENERATOR_FILE
from counterfeit.viz import save_grid, to_uint8


def load_generator(run_dir: str | Path) -> tuple[nn.Module, Config]:
    """The run's final generator, in eval mode on the CPU, and the config it was trained with."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).is_file():
        raise UserError(f"{run_dir}: not a run directory (no {CONFIG_FILE})")
    config = load_run_config(run_dir)
    weights = run_dir / GENERATOR_FILE
    if not weights.is_file():
        raise UserError(f"{weights}: missing (the run has not finished)")
    generator = build_generator(config)
    try:
        generator.load_state_dict(load_file(weights))
    except (SafetensorError, RuntimeError, OSError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"{weights}: cannot load generator weights ({first_line})") from None
    return generator.eval(), config


@torch.no_grad()
def generate(generator: nn.Module, config: Config, n: int, seed: int = 0,
             batch_size: int = 1000) -> np.ndarray:
    """n images as uint8 (n, 28, 28), from z drawn with its own seeded RNG."""
    rng = torch.Generator().manual_seed(seed)
    prior = Prior(config.prior, config.z_dim)
    chunks = [to_uint8(generator(prior.sample(min(batch_size, n - i), rng)), config.pixel_range)
              for i in range(0, n, batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros((0, 28, 28), np.uint8)


def save_samples(images: np.ndarray, out: str | Path) -> None:
    """`.png` -> a grid; `.npz` -> `images` uint8 (N, 28, 28)."""
    out = Path(out)
    if out.suffix.lower() == ".png":
        save_grid(images, out)
    elif out.suffix.lower() == ".npz":
        buffer = io.BytesIO()
        np.savez_compressed(buffer, images=images)
        atomic_write_bytes(out, buffer.getvalue())
    else:
        raise UserError(f"--out {out}: expected a .png or .npz file name")
