"""Latent walks: G along a path between two noise vectors, as a GIF.

A normal (or sphere) prior puts almost all its mass on a shell of radius ~sqrt(z_dim); the
straight line between two draws cuts through the low-norm interior G never saw in training, so
those priors are walked by spherical interpolation (White 2016). Uniform noise fills its cube,
and the straight line stays inside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from counterfeit.config import Config
from counterfeit.data.labels import NUM_CLASSES
from counterfeit.priors import Prior
from counterfeit.sampling.images import render
from counterfeit.sampling.labels import refuse_digit_if_unconditional
from counterfeit.viz import image_grid, write_gif


def lerp(z0: Tensor, z1: Tensor, t: Tensor) -> Tensor:
    """(D,), (D,), (T,) -> (T, D) on the straight line from z0 to z1."""
    return torch.lerp(z0, z1, t.unsqueeze(1))


def slerp(z0: Tensor, z1: Tensor, t: Tensor) -> Tensor:
    """(D,), (D,), (T,) -> (T, D) along the great circle from z0 to z1 (norms blend linearly)."""
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega.sin().abs() < 1e-6:  # (anti)parallel: the circle is undefined, the line is as good
        return lerp(z0, z1, t)
    t = t.unsqueeze(1)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / omega.sin()


def walk_path(prior: str) -> str:
    return "linear" if prior == "uniform" else "spherical"


def latent_walk(generator: nn.Module, config: Config, steps: int, seed: int = 0,
                digit: int | None = None) -> list[np.ndarray]:
    """`steps` frames from z0 to z1 (both drawn from `seed`), each uint8 (k, 28, 28): one image,
    or for a conditional run without a digit, the ten digits at that z."""
    refuse_digit_if_unconditional(config, digit)
    z0, z1 = Prior(config.prior, config.z_dim).sample(2, torch.Generator().manual_seed(seed))
    interpolate = lerp if walk_path(config.prior) == "linear" else slerp
    zs = interpolate(z0, z1, torch.linspace(0.0, 1.0, steps))  # (T, D)
    per_frame = NUM_CLASSES if config.conditional and digit is None else 1
    labels = None
    if config.conditional:
        labels = (torch.arange(NUM_CLASSES).repeat(steps) if digit is None
                  else torch.full((steps,), digit))
    images = render(generator, zs.repeat_interleave(per_frame, 0), config.pixel_range, labels)
    return list(images.reshape(steps, per_frame, *images.shape[1:]))


def save_walk(frames: list[np.ndarray], out: str | Path, frame_ms: int = 80) -> None:
    """The walk there and back, so the GIF loops without a jump; 4x pixels to be seen."""
    pictures = [image_grid(frame, columns=len(frame), scale=4) for frame in frames]
    bounce = pictures + pictures[-2:0:-1]
    write_gif(bounce, out, frame_ms=frame_ms, last_frame_ms=frame_ms)
