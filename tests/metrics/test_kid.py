from __future__ import annotations

import pytest
import torch

from counterfeit.metrics.kid import kid, mmd2_unbiased


def test_two_samples_of_one_distribution_give_kid_near_zero() -> None:
    rng = torch.Generator().manual_seed(0)
    a, b = torch.randn(2000, 16, generator=rng), torch.randn(2000, 16, generator=rng)
    mean, std = kid(a, b, subsets=20, subset_size=500)
    assert abs(mean) < 3 * std + 1e-3
    shifted_mean, shifted_std = kid(a, b + 1.0, subsets=20, subset_size=500)
    assert shifted_mean > 10 * (abs(mean) + shifted_std)


def test_unbiased_estimator_can_go_negative_and_is_exactly_zero_in_expectation() -> None:
    # The U-statistic leaves out the diagonal, so a sample against itself is not 0 but slightly
    # negative; its average over many independent pairs hovers around 0.
    rng = torch.Generator().manual_seed(1)
    values = torch.tensor([mmd2_unbiased(torch.randn(100, 8, generator=rng), torch.randn(100, 8, generator=rng))
                           for _ in range(200)])
    assert abs(values.mean()) < 3 * values.std() / 200 ** 0.5
    assert (values < 0).any()


def _mmd2_by_definition(x: torch.Tensor, y: torch.Tensor) -> float:
    """The U-statistic spelled out pair by pair, in float64."""
    x, y = x.double(), y.double()
    k = lambda a, b: (a @ b / len(a) + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return float(xx + yy - 2 * xy)


def test_mmd2_matches_its_definition() -> None:
    rng = torch.Generator().manual_seed(2)
    x, y = torch.rand(12, 5, generator=rng), torch.rand(9, 5, generator=rng) + 0.3
    assert mmd2_unbiased(x, y) == pytest.approx(_mmd2_by_definition(x, y), rel=1e-5, abs=1e-7)


def test_batching_subsets_does_not_change_kid(monkeypatch: pytest.MonkeyPatch) -> None:
    import counterfeit.metrics.kid as kid_module

    rng = torch.Generator().manual_seed(3)
    a, b = torch.randn(400, 8, generator=rng), torch.randn(300, 8, generator=rng)
    batched = kid(a, b, subsets=10, subset_size=100)
    monkeypatch.setattr(kid_module, "SUBSETS_PER_GROUP", 1)
    single = kid(a, b, subsets=10, subset_size=100)
    assert batched == pytest.approx(single, rel=1e-6, abs=1e-9)
    assert batched[1] > 0  # ten different subsets, not one repeated


def test_sets_smaller_than_a_subset_still_give_a_spread() -> None:
    # With n <= subset_size every subset used to be the whole set: std 0 (4.5e-16 printed).
    rng = torch.Generator().manual_seed(4)
    a, b = torch.randn(200, 8, generator=rng), torch.randn(300, 8, generator=rng) + 0.5
    mean, std = kid(a, b)
    assert mean > 0 and std > 0.02 * mean
    assert kid(a, b) == kid(a, b, subset_size=100)  # min(1000, 200 // 2, 300 // 2) images a subset


def test_too_few_samples_for_two_disjoint_subsets_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        kid(torch.randn(3, 8), torch.randn(50, 8))
