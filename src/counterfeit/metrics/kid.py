"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² with a cubic polynomial kernel,
averaged over random subsets (its std says how much to trust the mean).

50 subsets of 1,000, as in the authors' reference code (torch-fidelity defaults to 100 of 1,000),
but never more than half of the smaller set: with n <= 1,000 images a subset of 1,000 would be
the whole set every time, and the std 0. The estimator is unbiased at any subset size, so the
mean does not move with it; the std grows as subsets shrink.
Subsets are evaluated a group at a time, as batched matrix products: far fewer, larger kernels.
"""

from __future__ import annotations

import torch
from torch import Tensor

SUBSETS_PER_GROUP = 8  # 8 x 1000 x 1000 float32 kernel values: 32 MB per product


def _kernel_sums(a: Tensor, b: Tensor, within: bool) -> Tensor:
    """(S,) float64 sums of k(x, y) = (x·y / d + 1)^3 over all pairs of a[s] x b[s]; without the
    diagonal k(x_i, x_i) when `within` (a is b). Cubed in float32, summed in float64."""
    k = torch.baddbmm(a.new_ones(1, 1, 1), a, b.mT, alpha=1 / a.shape[-1]).pow_(3)  # (S, m, n)
    total = k.sum(dim=(1, 2), dtype=torch.float64)
    return total - k.diagonal(dim1=1, dim2=2).sum(dim=1, dtype=torch.float64) if within else total


def _mmd2_unbiased(x: Tensor, y: Tensor) -> Tensor:
    """(S,) U-statistics for batches x (S, m, d), y (S, n, d): within-set sums leave out i == j."""
    m, n = x.shape[1], y.shape[1]
    return (_kernel_sums(x, x, True) / (m * (m - 1)) + _kernel_sums(y, y, True) / (n * (n - 1))
            - 2 * _kernel_sums(x, y, False) / (m * n))


def mmd2_unbiased(x: Tensor, y: Tensor) -> float:
    return float(_mmd2_unbiased(x[None], y[None])[0])


def kid(features_a: Tensor, features_b: Tensor, subsets: int = 50, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """(mean, std) of MMD² over `subsets` random subsets of each set, each of
    min(subset_size, n_a // 2, n_b // 2) images."""
    size = min(subset_size, len(features_a) // 2, len(features_b) // 2)
    if size < 2:  # the U-statistic needs two images a subset, and two subsets differ
        raise ValueError(f"KID needs at least 4 samples in each set, got {len(features_a)} and {len(features_b)}")
    rng = torch.Generator().manual_seed(seed)
    picks = [(torch.randperm(len(features_a), generator=rng)[:size],
              torch.randperm(len(features_b), generator=rng)[:size]) for _ in range(subsets)]
    values = torch.cat([
        _mmd2_unbiased(features_a[torch.stack([a for a, _ in group])],
                       features_b[torch.stack([b for _, b in group])])
        for group in (picks[i:i + SUBSETS_PER_GROUP] for i in range(0, subsets, SUBSETS_PER_GROUP))
    ])
    return float(values.mean()), float(values.std()) if subsets > 1 else 0.0
