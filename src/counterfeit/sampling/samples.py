"""What `counterfeit sample` draws and writes: a grid (.png) or arrays (.npz)."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from counterfeit.config import Config
from counterfeit.data.labels import NUM_CLASSES
from counterfeit.errors import UserError
from counterfeit.fileio import atomic_write_bytes
from counterfeit.sampling.images import class_grid, generate
from counterfeit.sampling.labels import balanced_labels, parse_digit, refuse_digit_if_unconditional
from counterfeit.viz import save_grid


@dataclass(frozen=True)
class Samples:
    images: np.ndarray  # uint8 (N, 28, 28), or (N, 3, 28, 28) for a stacked-mnist run
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
    """`.png` -> a grid (RGB for 3 channels); `.npz` -> `images` uint8 (N, 28, 28) or (N, 3, 28, 28) and, if given, `labels` int64 (N,)."""
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
