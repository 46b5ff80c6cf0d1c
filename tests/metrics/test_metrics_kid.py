from __future__ import annotations

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
