from __future__ import annotations

import math

import pytest
import torch

from counterfeit.priors import Prior


def _draw(name: str, n: int = 4000, z_dim: int = 64) -> torch.Tensor:
    return Prior(name, z_dim).sample(n, torch.Generator().manual_seed(0))


def test_sphere_prior_lies_on_the_sphere_of_radius_sqrt_z_dim() -> None:
    z = _draw("sphere")
    torch.testing.assert_close(z.norm(dim=1), torch.full((4000,), math.sqrt(64)))
    assert z.mean(dim=0).abs().max() < 0.1  # no preferred direction


def test_uniform_prior_fills_the_cube() -> None:
    z = _draw("uniform")
    assert z.min() >= -1 and z.max() <= 1
    assert z.var().item() == pytest.approx(1 / 3, rel=0.02)


def test_normal_prior_moments() -> None:
    z = _draw("normal")
    assert z.mean().item() == pytest.approx(0.0, abs=0.01)
    assert z.std().item() == pytest.approx(1.0, rel=0.02)
    assert not torch.allclose(z.norm(dim=1), z.norm(dim=1)[0])  # norms vary, unlike the sphere's
