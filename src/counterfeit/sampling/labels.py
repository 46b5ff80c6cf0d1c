"""Which digits to ask a conditional G for: `--digit`, class-balanced samples, class grids."""

from __future__ import annotations

import torch
from torch import Tensor

from counterfeit.config import Config
from counterfeit.data.labels import NUM_CLASSES
from counterfeit.errors import UserError
from counterfeit.priors import Prior


def parse_digit(text: str) -> int | None:
    """`--digit`: 0-9, or "all" (None) for a class grid."""
    if text == "all":
        return None
    if not (text.isdigit() and int(text) < NUM_CLASSES):
        raise UserError(f"--digit {text}: expected a digit 0-{NUM_CLASSES - 1} or 'all'")
    return int(text)


def refuse_digit_if_unconditional(config: Config, digit: object) -> None:
    if digit is not None and not config.conditional:
        # a self-conditioned G has clusters, not digits: the k-means clusters carry no digit names
        why = (f"is self-conditioned on {config.clusters} k-means clusters, which are not digits, so it"
               if config.clusters else "is unconditional and")
        raise UserError(f"--digit {digit}: this run's model ({config.model}) {why} cannot be asked for a digit "
                        "(a model drawn by digit: cgan or cdcgan)")


def balanced_labels(n: int, device: torch.device | str = "cpu") -> Tensor:
    """0, 1, ..., 9, 0, 1, ...: n labels as even across the classes as n allows."""
    return torch.arange(n, device=device) % NUM_CLASSES


def per_class_labels(per_class: int, device: torch.device | str = "cpu") -> Tensor:
    """0 x per_class, then 1 x per_class, ...: blocks of one requested digit."""
    return torch.arange(NUM_CLASSES, device=device).repeat_interleave(per_class)


def class_grid_inputs(prior: Prior, per_class: int, rng: torch.Generator,
                      device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """z and labels for a grid of one row per digit: column j holds the same z in every row, so
    the rows differ only by the label asked for. Row-major: (10 * per_class, z_dim), (10 * per_class,)."""
    z = prior.sample(per_class, rng, device).repeat(NUM_CLASSES, 1)
    return z, per_class_labels(per_class, device)


def snapshot_inputs(config: Config, prior: Prior, rng: torch.Generator,
                    device: torch.device) -> tuple[Tensor, Tensor | None, int | None]:
    """Fixed (z, labels, grid columns) of the training snapshots: `grid_size` samples, or for a
    conditional run a class grid of max(1, grid_size // 10) columns, so every digit forms in the GIF."""
    if not config.conditional:
        return prior.sample(config.grid_size, rng, device), None, None
    per_class = max(1, config.grid_size // NUM_CLASSES)
    return (*class_grid_inputs(prior, per_class, rng, device), per_class)
