"""The one way images are drawn from G: in eval mode (batch norm's running statistics), without a
graph, as uint8 (N, 28, 28) (3-channel runs: (N, 3, 28, 28)). `sample`, class grids, training snapshots, the in-training evaluation,
`eval` and `interpolate` all come through `render`."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from counterfeit.config import Config
from counterfeit.data.labels import NUM_CLASSES
from counterfeit.errors import UserError
from counterfeit.models.conditional import call_generator
from counterfeit.priors import Prior
from counterfeit.sampling.labels import balanced_labels, class_grid_inputs, per_class_labels
from counterfeit.viz import to_uint8

CHUNK = 1000  # rows per forward pass: bounds memory, whatever n is


@torch.no_grad()
def render(generator: nn.Module, z: Tensor, pixel_range: tuple[float, float],
           labels: Tensor | None = None) -> np.ndarray:
    """G(z[, y]) as uint8 (N, 28, 28) or (N, C, 28, 28), in eval mode; G's own mode is put back afterwards."""
    was_training = generator.training
    generator.eval()
    try:
        chunks = [to_uint8(call_generator(generator, z[i:i + CHUNK], None if labels is None else labels[i:i + CHUNK]),
                           pixel_range) for i in range(0, len(z), CHUNK)]
    finally:
        generator.train(was_training)
    return np.concatenate(chunks) if chunks else np.zeros((0, 28, 28), np.uint8)


def generate(generator: nn.Module, config: Config, n: int, seed: int = 0,
             labels: Tensor | None = None) -> np.ndarray:
    """n images from z drawn with their own RNG seeded `seed`, on G's device. A conditional run
    draws `labels` (n,), by default 0-9 in turn (a class-balanced sample)."""
    device = next(generator.parameters()).device
    if config.conditional and labels is None:
        labels = balanced_labels(n)
    check_request(config, n, labels)
    z = Prior(config.prior, config.z_dim).sample(n, torch.Generator(device).manual_seed(seed), device)
    return render(generator, z, config.pixel_range, None if labels is None else labels.to(device))


def check_request(config: Config, n: int, labels: Tensor | None) -> None:
    """What `generate` is asked, checked before torch meets it (its errors name no argument)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:  # numpy's ints count too
        raise UserError(f"n: expected a positive number of images, got {n!r}")
    if labels is None:
        return
    if not config.conditional:
        raise UserError(f"labels: this run's model ({config.model}) is unconditional; it draws no chosen digit")
    if not isinstance(labels, Tensor) or labels.dtype != torch.int64 or labels.shape != (n,):
        shown = f"{labels.dtype} {tuple(labels.shape)}" if isinstance(labels, Tensor) else type(labels).__name__
        raise UserError(f"labels: expected an int64 tensor of shape ({n},), one digit per image; got {shown}")
    if len(labels) and not (0 <= int(labels.min()) and int(labels.max()) < NUM_CLASSES):
        raise UserError(f"labels: digits are 0-{NUM_CLASSES - 1}, got {int(labels.min())}..{int(labels.max())}")


def class_grid(generator: nn.Module, config: Config, per_class: int, seed: int = 0) -> tuple[np.ndarray, Tensor]:
    """A conditional run's (10 * per_class) images, one row per digit, each column one z."""
    device = next(generator.parameters()).device
    z, labels = class_grid_inputs(Prior(config.prior, config.z_dim), per_class,
                                  torch.Generator(device).manual_seed(seed), device)
    return render(generator, z, config.pixel_range, labels), labels.cpu()


def draw_per_class(generator: nn.Module, config: Config, per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`per_class` samples of every digit: images uint8 (10 * per_class, 28, 28) and the labels asked for."""
    labels = per_class_labels(per_class)
    return generate(generator, config, len(labels), seed=seed, labels=labels), labels.numpy()


__all__ = ["NUM_CLASSES", "class_grid", "draw_per_class", "generate", "render"]
