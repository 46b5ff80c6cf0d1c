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


def _density_coverage_by_definition(real: torch.Tensor, fake: torch.Tensor, k: int = 5) -> tuple[float, float]:
    """Naeem et al.'s reference (clovaai/generative-evaluation-prdc): strict `<` against the
    real k-NN radii, written out in float64."""
    real, fake = real.double(), fake.double()
    radii = torch.cdist(real, real).sort(dim=1).values[:, k]  # column 0 is the point itself
    real_fake = torch.cdist(real, fake)  # (R, F)
    density = (real_fake < radii[:, None]).sum(dim=0).double().mean().item() / k
    coverage = (real_fake.min(dim=1).values < radii).double().mean().item()
    return density, coverage


def test_an_exact_copy_has_density_one() -> None:
    # With `<=` each real point's k-th neighbour sat on its ball's edge and counted: 1.2 = (k+1)/k.
    # Not exactly 1: d(a, b) and d(b, a) may round apart in float32, so a few edge ties flip.
    x = torch.randn(400, 8, generator=torch.Generator().manual_seed(6))
    values = prdc(x, x.clone())
    assert values["density"] == pytest.approx(1.0, abs=0.01) and values["coverage"] == 1.0


def test_density_and_coverage_follow_the_reference() -> None:
    rng = torch.Generator().manual_seed(7)
    real = torch.randn(300, 6, generator=rng)
    fake = torch.randn(200, 6, generator=rng) * 1.3  # no copies: no ties to round either way
    values = prdc(real, fake)
    density, coverage = _density_coverage_by_definition(real, fake)
    assert values["density"] == pytest.approx(density, abs=1e-9)
    assert values["coverage"] == pytest.approx(coverage, abs=1e-6)
