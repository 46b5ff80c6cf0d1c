"""Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017).

On the MNIST evaluator's features it is "FID (MNIST evaluator)": not comparable with Inception FID.
"""

from __future__ import annotations

import torch
from torch import Tensor


def gaussian_stats(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and (unbiased) covariance, in float64: FID subtracts large, nearly equal traces."""
    x = features.double()
    return x.mean(dim=0), torch.cov(x.T)


def _sqrt_psd(matrix: Tensor) -> Tensor:
    """Square root of a symmetric positive semi-definite matrix; tiny negative eigenvalues -> 0."""
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    """|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^1/2).

    tr (S1 S2)^1/2 = tr (A S2 A)^1/2 with A = S1^1/2: the product A S2 A is symmetric PSD, so
    an eigendecomposition gives its root stably, where sqrtm of the non-symmetric S1 S2 may not.
    """
    root = _sqrt_psd(sigma1)
    trace_sqrt = torch.linalg.eigvalsh(root @ sigma2 @ root).clamp_min(0).sqrt().sum()
    value = (mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt
    return max(float(value), 0.0)


def fid(features_a: Tensor, features_b: Tensor) -> float:
    return frechet_distance(*gaussian_stats(features_a), *gaussian_stats(features_b))
