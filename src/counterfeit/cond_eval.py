"""Conditional evaluation: does G draw the digit it is asked for?

Pure functions of a classifier's predictions and of features, so any evaluator plugs in:
`classify(images uint8 (N, 28, 28)) -> predicted labels (N,)`. `cond_accuracy` is the
evaluator's accuracy on samples drawn per requested label, n per digit; per-class FID compares
each digit's samples with the real images of that digit.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor, nn

from counterfeit.config import Config
from counterfeit.models.conditional import NUM_CLASSES
from counterfeit.sampling import generate

Classify = Callable[[np.ndarray], np.ndarray]
Distance = Callable[[Tensor, Tensor], float]  # e.g. FID between two feature sets


def requested_labels(per_class: int) -> Tensor:
    """0 x per_class, then 1 x per_class, ...: blocks of one requested digit."""
    return torch.arange(NUM_CLASSES).repeat_interleave(per_class)


def draw_per_class(generator: nn.Module, config: Config, per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`per_class` samples of every digit: images uint8 (10 * per_class, 28, 28) and the labels asked for."""
    labels = requested_labels(per_class)
    return generate(generator, config, len(labels), seed=seed, labels=labels), labels.numpy()


def class_accuracy(predicted: np.ndarray, requested: np.ndarray) -> dict[str, Any]:
    """`cond_accuracy` overall, per requested digit, and its worst digit."""
    per_class = [float((predicted[requested == d] == d).mean()) for d in range(NUM_CLASSES)]
    return {"cond_accuracy": float((predicted == requested).mean()),
            "cond_accuracy_per_class": per_class,
            "cond_accuracy_min": min(per_class)}


def per_class_distance(sample_features: Tensor, sample_labels: np.ndarray, real_features: Tensor,
                       real_labels: np.ndarray, distance: Distance) -> list[float]:
    """distance(samples asked for d, real images of d) for each digit d (e.g. per-class FID)."""
    return [distance(sample_features[torch.from_numpy(sample_labels == d)],
                     real_features[torch.from_numpy(real_labels == d)]) for d in range(NUM_CLASSES)]


def conditional_metrics(generator: nn.Module, config: Config, classify: Classify, per_class: int,
                        seed: int = 0) -> dict[str, Any]:
    """Draw `per_class` samples of each digit and score how many read as the digit asked for."""
    images, requested = draw_per_class(generator, config, per_class, seed)
    return {"cond_n_per_class": per_class, **class_accuracy(classify(images), requested)}
