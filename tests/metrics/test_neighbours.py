from __future__ import annotations

import numpy as np
import pytest
import torch

from counterfeit.metrics.memorisation import memorisation_ratio, nearest_squared_levels, nearest_train_distance
from counterfeit.metrics.neighbours import kth_neighbour_distance, mean_pairwise_distance


def test_kth_neighbour_distance_matches_brute_force() -> None:
    points = torch.randn(150, 7, generator=torch.Generator().manual_seed(0))
    distances = torch.cdist(points.double(), points.double())
    for k in (1, 3, 5):
        expected = distances.sort(dim=1).values[:, k]  # column 0 is the point itself
        assert torch.allclose(kth_neighbour_distance(points, k).double(), expected, atol=1e-4)


def test_mean_pairwise_distance_matches_brute_force() -> None:
    points = torch.rand(60, 20, generator=torch.Generator().manual_seed(1))
    expected = torch.pdist(points.double()).mean().item()
    assert abs(mean_pairwise_distance(points) - expected) < 1e-3 * expected


def test_pixel_nearest_distances_are_exact() -> None:
    rng = np.random.default_rng(2)
    queries, points = rng.integers(0, 256, (70, 784)), rng.integers(0, 256, (90, 784))
    expected = ((queries[:, None, :] - points[None, :, :]) ** 2).sum(axis=2).min(axis=1)
    as_pixels = lambda a: torch.from_numpy(a).float() / 255  # noqa: E731  (how FeatureSet holds them)
    assert nearest_squared_levels(as_pixels(queries), as_pixels(points)).tolist() == expected.tolist()
    middle = np.sort(np.sqrt(expected))[34:36]  # 70 values: the median is the mean of the middle two
    assert abs(nearest_train_distance(as_pixels(queries), as_pixels(points)) - middle.mean() / 255) < 1e-9


def test_half_copies_is_the_midpoint_not_zero() -> None:
    # torch's median() takes the lower of the two middle values: exactly half copies gave 0.0.
    rng = np.random.default_rng(3)
    train = torch.from_numpy(rng.integers(0, 256, (40, 784))).float() / 255
    others = torch.from_numpy(rng.integers(0, 256, (20, 784))).float() / 255
    samples = torch.cat([train[:20], others])  # 20 exact copies of training images, 20 not
    nearest_other = nearest_squared_levels(others, train).double().sqrt().min().item() / 255
    assert nearest_train_distance(samples, train) == pytest.approx(nearest_other / 2, rel=1e-12)
    assert memorisation_ratio(samples, train, heldout_median=nearest_other) == pytest.approx(0.5, rel=1e-12)
