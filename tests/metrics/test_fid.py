from __future__ import annotations

import numpy as np
import pytest
import torch

from counterfeit.metrics.fid import fid, frechet_distance, gaussian_stats


def random_covariance(d: int, seed: int) -> torch.Tensor:
    a = torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return a @ a.T / d + 0.1 * torch.eye(d, dtype=torch.float64)


def test_closed_form_for_diagonal_covariances() -> None:
    mu1, mu2 = torch.zeros(4, dtype=torch.float64), torch.tensor([1.0, 0, 0, 2], dtype=torch.float64)
    var1, var2 = torch.tensor([1.0, 4, 9, 1], dtype=torch.float64), torch.tensor([4.0, 1, 1, 1], dtype=torch.float64)
    expected = 5.0 + float(((var1.sqrt() - var2.sqrt()) ** 2).sum())  # |dmu|^2 + sum (s1 - s2)^2
    assert frechet_distance(mu1, torch.diag(var1), mu2, torch.diag(var2)) == pytest.approx(expected, rel=1e-9)


def test_non_commuting_covariances_match_eigenvalues_of_product() -> None:
    # tr sqrt(S1 S2) = sum of square roots of the (real, non-negative) eigenvalues of S1 S2.
    s1, s2 = random_covariance(16, 1), random_covariance(16, 2)
    mu1, mu2 = torch.zeros(16, dtype=torch.float64), torch.full((16,), 0.5, dtype=torch.float64)
    eig = np.linalg.eigvals(s1.numpy() @ s2.numpy()).real
    expected = 16 * 0.25 + float(s1.trace() + s2.trace()) - 2 * np.sqrt(eig).sum()
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)


def test_samples_of_two_gaussians_approach_the_closed_form() -> None:
    rng = torch.Generator().manual_seed(0)
    a = torch.randn(50_000, 3, generator=rng)
    b = torch.randn(50_000, 3, generator=rng) * 2 + torch.tensor([1.0, 0, 0])
    assert fid(a, b) == pytest.approx(1.0 + 3 * (2 - 1) ** 2, rel=0.03)  # 4


def test_identical_sets_give_zero_and_shifts_are_exact() -> None:
    x = torch.randn(500, 32, generator=torch.Generator().manual_seed(3))
    assert fid(x, x) == pytest.approx(0.0, abs=1e-6)
    assert fid(x, x + 2.0) == pytest.approx(32 * 4.0, rel=1e-6)  # a shift moves only the means


def test_singular_covariance_is_stable() -> None:
    # Fewer samples than dimensions: rank-deficient covariances, where naive sqrtm goes complex.
    x = torch.randn(10, 64, generator=torch.Generator().manual_seed(4))
    value = fid(x, x * 1.5)
    assert np.isfinite(value) and value > 0
    mu, sigma = gaussian_stats(x)
    assert mu.dtype == torch.float64 and sigma.shape == (64, 64)
