"""Nearest-neighbour queries on chunked distance matrices: never more than a chunk in memory.

Distances come as squared distances |q|² + |p|² - 2 q·p: one matrix product per block (what
cdist does inside for sets this large) without its square root, which comparisons and k-th
smallest selections do not need (both are unchanged by a monotone map).
"""

from __future__ import annotations

from typing import Iterator

import torch
from torch import Tensor

CHUNK = 2048  # rows per distance block: 2048 x 10,000 floats is 80 MB


def squared_distance_blocks(queries: Tensor, points: Tensor) -> Iterator[tuple[int, Tensor]]:
    """(start row, squared distances from queries[start:start + CHUNK] to every point) blocks."""
    point_norms = points.square().sum(dim=1)
    for start in range(0, len(queries), CHUNK):
        chunk = queries[start:start + CHUNK]
        block = torch.addmm(point_norms.expand(len(chunk), -1), chunk, points.T, alpha=-2)
        yield start, block.add_(chunk.square().sum(dim=1, keepdim=True)).clamp_min_(0)


def kth_neighbour_distance(points: Tensor, k: int) -> Tensor:
    """(N,) distance from each point to its k-th nearest other point (itself excluded)."""
    squared = [block.topk(k + 1, dim=1, largest=False, sorted=True).values[:, k]
               for _, block in squared_distance_blocks(points, points)]
    return torch.cat(squared).sqrt()


def mean_pairwise_distance(points: Tensor) -> float:
    """Mean distance over distinct pairs: the diversity of a batch."""
    n = len(points)
    total = sum(block.sqrt_().sum().item() for _, block in squared_distance_blocks(points, points))
    return total / (n * (n - 1))
