"""The real-data side of every metric: reference (training) images, their statistics, and the
held-out real images that give the floor. Built once per (dataset, evaluator, n), then cached."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from counterfeit.data.dataset import Dataset
from counterfeit.metrics.classes import class_histogram
from counterfeit.metrics.evaluator import Evaluator
from counterfeit.metrics.features import FeatureSet, extract
from counterfeit.metrics.fid import gaussian_stats
from counterfeit.metrics.memorisation import diversity, nearest_train_distance
from counterfeit.metrics.neighbours import kth_neighbour_distance
from counterfeit.metrics.prdc import K_DENSITY_COVERAGE, K_PRECISION_RECALL
from counterfeit.metrics.split import split_indices


@dataclass(frozen=True)
class Reference:
    train: FeatureSet    # the reference (training) images: the first n of the split's train part
    heldout: FeatureSet  # held-out real images: the first n of the split's held-out part
    mu: Tensor           # (128,) float64
    sigma: Tensor        # (128, 128) float64
    radii_pr: Tensor     # (n,) k = 3 neighbour distances within `train` (precision / recall)
    radii_dc: Tensor     # (n,) k = 5 (density / coverage)
    class_hist: Tensor   # (10,) predicted-class shares of `train`
    heldout_nearest_train: float  # median distance, held-out image -> nearest training image
    diversity: float     # mean pairwise pixel distance of training images

    ARRAYS = ("mu", "sigma", "radii_pr", "radii_dc", "class_hist")

    def to_arrays(self) -> dict[str, np.ndarray]:
        """What the cache stores; pixels are not stored, they come from the dataset."""
        arrays = {name: getattr(self, name).numpy() for name in self.ARRAYS}
        for part in ("train", "heldout"):
            fs = getattr(self, part)
            arrays[f"{part}_features"], arrays[f"{part}_probs"] = fs.features.numpy(), fs.probs.numpy()
        arrays["scalars"] = np.array([self.heldout_nearest_train, self.diversity])
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], train_pixels: Tensor,
                    heldout_pixels: Tensor) -> "Reference":
        t = {name: torch.from_numpy(arrays[name]) for name in cls.ARRAYS}
        train = FeatureSet(torch.from_numpy(arrays["train_features"]),
                           torch.from_numpy(arrays["train_probs"]), train_pixels)
        heldout = FeatureSet(torch.from_numpy(arrays["heldout_features"]),
                             torch.from_numpy(arrays["heldout_probs"]), heldout_pixels)
        nearest, spread = (float(v) for v in arrays["scalars"])
        return cls(train, heldout, heldout_nearest_train=nearest, diversity=spread, **t)


def real_images(dataset: Dataset, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(reference, held-out) uint8 images: up to n of each, from the fixed split."""
    split = split_indices(len(dataset))
    return dataset.images[split.train[:n]], dataset.images[split.heldout[:n]]


def pixels_of(images: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0).reshape(len(images), -1)


def build_reference(train_images: np.ndarray, heldout_images: np.ndarray,
                    evaluator: Evaluator) -> Reference:
    train, heldout = extract(evaluator, train_images), extract(evaluator, heldout_images)
    mu, sigma = gaussian_stats(train.features)
    return Reference(
        train=train, heldout=heldout, mu=mu, sigma=sigma,
        radii_pr=kth_neighbour_distance(train.features, K_PRECISION_RECALL),
        radii_dc=kth_neighbour_distance(train.features, K_DENSITY_COVERAGE),
        class_hist=class_histogram(train.probs),
        heldout_nearest_train=nearest_train_distance(heldout.pixels, train.pixels),
        diversity=diversity(train.pixels),
    )
