"""Noise priors p(z): where the generator's inputs come from."""

from __future__ import annotations

import math

import torch
from torch import Tensor


class Prior:
    """Draws z of shape (n, z_dim) from a named distribution, always from the given RNG."""

    def __init__(self, name: str, z_dim: int) -> None:
        if name not in SAMPLERS:
            raise ValueError(f"unknown prior {name!r}")
        self.name, self.z_dim = name, z_dim

    def sample(self, n: int, rng: torch.Generator, device: torch.device | str = "cpu") -> Tensor:
        z = torch.empty(n, self.z_dim, device=device)
        return SAMPLERS[self.name](z, rng)


def _uniform(z: Tensor, rng: torch.Generator) -> Tensor:
    return z.uniform_(-1.0, 1.0, generator=rng)  # the first tutorial's np.random.uniform(-1, 1)


def _normal(z: Tensor, rng: torch.Generator) -> Tensor:
    return z.normal_(generator=rng)


def _sphere(z: Tensor, rng: torch.Generator) -> Tensor:
    # Uniform on the sphere of radius sqrt(z_dim): the shell where a high-dimensional normal lives.
    z.normal_(generator=rng)
    return z * (math.sqrt(z.shape[1]) / z.norm(dim=1, keepdim=True).clamp_min(1e-12))


SAMPLERS = {"uniform": _uniform, "normal": _normal, "sphere": _sphere}


# The distribution function of one entry of z, for the priors whose entries are independent: a
# self-conditioned G (models/selfcond.py) turns z's last entry into a uniform draw with it.
MARGINAL_CDFS = {
    "uniform": lambda z: (z + 1.0) / 2.0,
    "normal": lambda z: 0.5 * (1.0 + torch.erf(z / math.sqrt(2.0))),
}
