"""Nearest-neighbour queries on chunked distance matrices: never more than a chunk in memory."""

from __future__ import annotations

from typing import Iterator

import torch
from torch import Tensor

CHUNK = 2048  # rows per distance block: 2048 x 10,000 floats is 80 MB


def distance_blocks(queries: Tensor, points: Tensor) -> Iterator[tuple[int, Tensor]]:
    """(start row, cdist(queries[start:start + CHUNK], points)) blocks."""
    for start in range(0, len(queries), CHUNK):
        yield start, torch.cdist(queries[start:start + CHUNK], points)


def kth_neighbour_distance(points: Tensor, k: int) -> Tensor:
    """(N,) distance from each point to its k-th nearest other point (itself excluded)."""
    radii = [block.topk(k + 1, dim=1, largest=False).values[:, k] for _, block in distance_blocks(points, points)]
    return torch.cat(radii)


def nearest_distance(queries: Tensor, points: Tensor) -> Tensor:
    """(Q,) distance from each query to its nearest point."""
    return torch.cat([block.min(dim=1).values for _, block in distance_blocks(queries, points)])


def mean_pairwise_distance(points: Tensor) -> float:
    """Mean distance over distinct pairs: the diversity of a batch."""
    n = len(points)
    total = sum(block.sum().item() for _, block in distance_blocks(points, points))
    return total / (n * (n - 1))
