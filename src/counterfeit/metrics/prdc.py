"""Manifold metrics from k-nearest-neighbour balls in feature space.

precision / recall: Kynkäänniemi et al. 2019, k = 3. A fake is precise if it falls inside some
real image's k-NN ball; a real image is recalled if it falls inside some fake's ball.
density / coverage: Naeem et al. 2020, k = 5. Density counts how many real balls hold each fake
(≈ 1 for real data, > 1 where fakes crowd dense regions); coverage is the share of real images
whose ball holds at least one fake.

Ties: precision and recall count a point on a ball's edge as inside (`<=`, as Kynkäänniemi et al.'s
code does); density and coverage count it as outside (`<`, as Naeem et al.'s reference,
clovaai/generative-evaluation-prdc, does), so an exact copy of the real set has density 1, not
(k + 1) / k: each real point's k-th neighbour sits exactly on its ball's edge.
"""

from __future__ import annotations

import torch
from torch import Tensor

from counterfeit.metrics.neighbours import distances, kth_neighbour_distance, squared_distance_blocks

K_PRECISION_RECALL = 3
K_DENSITY_COVERAGE = 5


def prdc(real: Tensor, fake: Tensor, real_radii_pr: Tensor | None = None,
         real_radii_dc: Tensor | None = None) -> dict[str, float]:
    """All four in one pass over the fake x real distances. The real radii (k-th neighbour
    distances within `real`, k = 3 and 5) depend on the reference only, so they may be cached."""
    if real_radii_pr is None:
        real_radii_pr = kth_neighbour_distance(real, K_PRECISION_RECALL)
    if real_radii_dc is None:
        real_radii_dc = kth_neighbour_distance(real, K_DENSITY_COVERAGE)
    fake_radii = kth_neighbour_distance(fake, K_PRECISION_RECALL)
    # Compared as distances, not squared: sets of copies put many points exactly on a ball's
    # boundary, and only the rounded root makes those ties come out as the radii's own did.
    precise = torch.empty(len(fake), dtype=torch.bool)
    balls_holding = torch.empty(len(fake), dtype=torch.long)
    recalled = torch.zeros(len(real), dtype=torch.bool)
    nearest_fake = torch.full((len(real),), float("inf"))
    for start, squared in squared_distance_blocks(fake, real):  # (c, R): fakes start.. x every real
        block = distances(squared)
        rows = slice(start, start + len(block))
        precise[rows] = (block <= real_radii_pr).any(dim=1)
        balls_holding[rows] = (block < real_radii_dc).sum(dim=1)
        recalled |= (block <= fake_radii[rows, None]).any(dim=0)
        nearest_fake = torch.minimum(nearest_fake, block.amin(dim=0))
    return {
        "precision": precise.float().mean().item(),
        "recall": recalled.float().mean().item(),
        "density": balls_holding.sum().item() / (K_DENSITY_COVERAGE * len(fake)),
        "coverage": (nearest_fake < real_radii_dc).float().mean().item(),
    }
