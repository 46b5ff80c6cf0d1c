"""Pixel-space signals: copying of training images, and the spread of a batch."""

from __future__ import annotations

from torch import Tensor

from counterfeit.metrics.neighbours import mean_pairwise_distance, nearest_distance

DIVERSITY_BATCH = 500  # images whose pairwise distances measure diversity


def nearest_train_distance(pixels: Tensor, train_pixels: Tensor) -> float:
    """Median L2 distance from each image to its nearest training image."""
    return nearest_distance(pixels, train_pixels).median().item()


def memorisation_ratio(sample_pixels: Tensor, train_pixels: Tensor, heldout_median: float) -> float:
    """Samples' median nearest-training-image distance over held-out real images' median.

    ≈ 1: samples sit as close to the training set as unseen real digits do; well below 1: samples
    are closer than real data would be (copies); above 1: samples are far from every training digit.
    """
    return nearest_train_distance(sample_pixels, train_pixels) / heldout_median


def diversity(pixels: Tensor) -> float:
    """Mean pairwise L2 distance within the first DIVERSITY_BATCH images."""
    return mean_pairwise_distance(pixels[:DIVERSITY_BATCH])
