from __future__ import annotations

import pytest
import torch

from counterfeit.metrics.prdc import prdc


def blobs(centres: torch.Tensor, per_centre: int, seed: int) -> torch.Tensor:
    rng = torch.Generator().manual_seed(seed)
    points = centres.repeat_interleave(per_centre, dim=0)
    return points + 0.1 * torch.randn(points.shape, generator=rng)


def test_identical_sets_are_perfect() -> None:
    x = torch.randn(300, 8, generator=torch.Generator().manual_seed(0))
    values = prdc(x, x.clone())
    assert values["precision"] == 1.0 and values["recall"] == 1.0 and values["coverage"] == 1.0
    assert values["density"] >= 1.0


def test_far_apart_sets_score_zero() -> None:
    x = torch.randn(300, 8, generator=torch.Generator().manual_seed(0))
    values = prdc(x, x + 100.0)
    assert values == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_half_the_modes_keeps_precision_and_halves_recall() -> None:
    centres = 10 * torch.eye(10, 16)
    real = blobs(centres, 100, seed=1)
    same = prdc(real, blobs(centres, 100, seed=2))  # a second sample of the real distribution
    half = prdc(real, blobs(centres[:5], 200, seed=2))  # realistic, but only 5 of the 10 modes
    assert half["precision"] == pytest.approx(same["precision"], abs=0.05)
    assert half["recall"] == pytest.approx(same["recall"] / 2, abs=0.05)
    assert half["coverage"] == pytest.approx(same["coverage"] / 2, abs=0.05)


def test_chunking_does_not_change_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    import counterfeit.metrics.neighbours as neighbours

    rng = torch.Generator().manual_seed(5)
    real, fake = torch.randn(700, 6, generator=rng), torch.randn(500, 6, generator=rng) * 1.2
    whole = prdc(real, fake)
    monkeypatch.setattr(neighbours, "CHUNK", 64)
    assert prdc(real, fake) == whole
