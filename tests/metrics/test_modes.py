"""modes_covered and mode_kl on hand-made histograms, and the registry's stacked computation."""

from __future__ import annotations

import math

import pytest
import torch

from counterfeit.metrics.features import FeatureSet
from counterfeit.metrics.modes import channel_kl, mode_kl, modes_covered, modes_of, unclear_reads
from counterfeit.metrics.registry import compute


def test_mode_of_three_digits() -> None:
    assert modes_of(torch.tensor([[7, 3, 2], [0, 0, 9], [9, 9, 9]])).tolist() == [732, 9, 999]


def test_modes_covered_counts_distinct_modes() -> None:
    assert modes_covered(torch.tensor([5, 5, 5, 17, 999, 17]), 1000) == 3
    assert modes_covered(torch.arange(1000), 1000) == 1000


def test_mode_kl_by_hand() -> None:
    # p = (1/2, 1/4, 1/4, 0) against uniform 1/4: 1/2 ln 2 + 1/4 ln 1 + 1/4 ln 1 = ln(2) / 2
    assert mode_kl(torch.tensor([0, 0, 1, 2]), 4) == pytest.approx(math.log(2) / 2)
    assert mode_kl(torch.arange(1000).repeat(3), 1000) == pytest.approx(0.0, abs=1e-12)  # uniform
    assert mode_kl(torch.full((50,), 123), 1000) == pytest.approx(math.log(1000))  # one mode


def test_registry_reads_each_channel_as_a_digit() -> None:
    # two images: digits (1, 2, 3) and (1, 2, 4); the evaluator's probs are one-hot per channel
    digits = torch.tensor([1, 2, 3, 1, 2, 4])
    probs = torch.nn.functional.one_hot(digits, 10).float()
    sample = FeatureSet(torch.zeros(6, 128), probs, torch.zeros(6, 784), channels=3)
    assert len(sample) == 2
    metrics = compute(sample, None)
    # channels 0 and 1 draw one digit each (KL ln 10 apiece); channel 2 draws 3 and 4 (ln 5); all reads sure
    assert metrics == {"modes_covered": 2, "mode_kl": pytest.approx(math.log(500)),  # p = 1/2 on 2 of 1000
                       "channel_kl": pytest.approx(2 * math.log(10) + math.log(5)), "unclear_reads": 0.0}


def test_channel_kl_sums_each_channels_digit_kl() -> None:
    flat = torch.arange(10).repeat(3).view(3, 10).T  # (10, 3): every channel draws each digit once
    assert channel_kl(flat) == pytest.approx(0.0, abs=1e-12)
    skewed = flat.clone()
    skewed[:5, 1] = 1  # channel 1 draws 1 five times and 5..9 once each: p(1) = 0.5 (ln 5), p(5..9) = 0.1 (ln 1)
    expected = 0.5 * math.log(5)
    assert channel_kl(skewed) == pytest.approx(expected)


def test_unclear_reads_counts_top_probabilities_under_0_9() -> None:
    probs = torch.tensor([[0.95, 0.05], [0.5, 0.5], [0.89, 0.11], [0.0, 1.0]])
    assert unclear_reads(probs) == pytest.approx(0.5)
