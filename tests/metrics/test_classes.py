from __future__ import annotations

import pytest
import torch

from counterfeit.metrics.classes import class_histogram, class_kl, classes_covered, mnist_score


def one_hot(labels: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.one_hot(labels, 10).float()


def test_single_class_covers_one() -> None:
    probs = one_hot(torch.full((500,), 3))
    assert classes_covered(probs) == 1
    assert mnist_score(probs) == pytest.approx(1.0, abs=1e-3)  # confident, but one digit only


def test_all_classes_evenly() -> None:
    probs = one_hot(torch.arange(1000) % 10)
    assert classes_covered(probs) == 10
    assert mnist_score(probs) == pytest.approx(10.0, rel=1e-3)
    assert class_kl(probs, class_histogram(probs)) == pytest.approx(0.0, abs=1e-9)


def test_a_few_strays_do_not_count_as_a_class() -> None:
    labels = torch.full((1000,), 7)
    labels[:5] = 1  # 0.5% predicted as 1: evaluator errors, not a generated digit
    assert classes_covered(one_hot(labels)) == 1


def test_missing_classes_cost_kl() -> None:
    uniform = class_histogram(one_hot(torch.arange(1000) % 10))
    half = one_hot(torch.arange(1000) % 5)
    three = one_hot(torch.arange(1000) % 3)
    assert 0 < class_kl(half, uniform) < class_kl(three, uniform)
