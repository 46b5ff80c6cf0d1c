"""Load a trained generator from a run directory and draw images from it."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor, nn

from counterfeit.config import Config, load_run_config
from counterfeit.errors import UserError
from counterfeit.fileio import atomic_write_bytes
from counterfeit.labels import (balanced_labels, class_grid_inputs, parse_digit,
                                refuse_digit_if_unconditional)
from counterfeit.models import build_generator
from counterfeit.models.conditional import NUM_CLASSES, call_generator
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
             batch_size: int = 1000, labels: Tensor | None = None) -> np.ndarray:
    """n images as uint8 (n, 28, 28), from z drawn with its own seeded RNG. A conditional run
    draws `labels` (n,), by default 0-9 in turn (a class-balanced sample)."""
    if config.conditional and labels is None:
        labels = balanced_labels(n)
    rng = torch.Generator().manual_seed(seed)
    prior = Prior(config.prior, config.z_dim)
    chunks = [to_uint8(call_generator(generator, prior.sample(min(batch_size, n - i), rng),
                                      None if labels is None else labels[i : i + batch_size]),
                       config.pixel_range)
              for i in range(0, n, batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros((0, 28, 28), np.uint8)


@torch.no_grad()
def class_grid(generator: nn.Module, config: Config, per_class: int, seed: int = 0) -> tuple[np.ndarray, Tensor]:
    """A conditional run's (10 * per_class) images, one row per digit, each column one z."""
    z, labels = class_grid_inputs(Prior(config.prior, config.z_dim), per_class,
                                  torch.Generator().manual_seed(seed))
    return to_uint8(generator(z, labels), config.pixel_range), labels


@dataclass(frozen=True)
class Samples:
    images: np.ndarray  # uint8 (N, 28, 28)
    labels: np.ndarray | None  # int64 (N,): the digit asked for each image; None if unconditional
    columns: int | None  # grid columns for a .png; None: square


def draw(generator: nn.Module, config: Config, n: int, seed: int = 0,
         digit: str | None = None) -> Samples:
    """What `counterfeit sample` draws. `digit`: None (a conditional run cycles 0-9), "0"-"9"
    (n of that digit) or "all" (a class grid of ceil(n / 10) columns)."""
    refuse_digit_if_unconditional(config, digit)
    if digit == "all":
        images, labels = class_grid(generator, config, math.ceil(n / NUM_CLASSES), seed)
        return Samples(images, labels.numpy(), columns=len(images) // NUM_CLASSES)
    if not config.conditional:
        return Samples(generate(generator, config, n, seed), None, None)
    labels = balanced_labels(n) if digit is None else torch.full((n,), parse_digit(digit))
    # Without --digit, ten columns put each digit in its own column.
    return Samples(generate(generator, config, n, seed, labels=labels), labels.numpy(),
                   NUM_CLASSES if digit is None else None)


def save_samples(images: np.ndarray, out: str | Path, labels: np.ndarray | None = None,
                 columns: int | None = None) -> None:
    """`.png` -> a grid; `.npz` -> `images` uint8 (N, 28, 28) and, if given, `labels` int64 (N,)."""
    out = Path(out)
    if out.suffix.lower() == ".png":
        save_grid(images, out, columns)
    elif out.suffix.lower() == ".npz":
        arrays = {"images": images} if labels is None else {"images": images, "labels": labels.astype(np.int64)}
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        atomic_write_bytes(out, buffer.getvalue())
    else:
        raise UserError(f"--out {out}: expected a .png or .npz file name")
