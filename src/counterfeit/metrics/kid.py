"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² with a cubic polynomial kernel,
averaged over random subsets (its std says how much to trust the mean)."""

from __future__ import annotations

import torch
from torch import Tensor


def polynomial_kernel(a: Tensor, b: Tensor) -> Tensor:
    """k(x, y) = (x·y / d + 1)^3, summed in float64."""
    return (a @ b.T / a.shape[1] + 1).double().pow(3)


def mmd2_unbiased(x: Tensor, y: Tensor) -> float:
    """U-statistic: the within-set sums leave out the diagonal k(x_i, x_i)."""
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within_x = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    within_y = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return float(within_x + within_y - 2 * k_xy.mean())


def kid(features_a: Tensor, features_b: Tensor, subsets: int = 50, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """(mean, std) of MMD² over `subsets` random subsets of each set."""
    size = min(subset_size, len(features_a), len(features_b))
    rng = torch.Generator().manual_seed(seed)
    values = torch.tensor([
        mmd2_unbiased(features_a[torch.randperm(len(features_a), generator=rng)[:size]],
                      features_b[torch.randperm(len(features_b), generator=rng)[:size]])
        for _ in range(subsets)
    ], dtype=torch.float64)
    return float(values.mean()), float(values.std()) if subsets > 1 else 0.0
