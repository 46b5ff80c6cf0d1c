"""k-means of a dataset's images (Lloyd's algorithm from k-means++ seeds, Arthur & Vassilvitskii 2007):
the clusters a self-conditioned GAN draws in place of labels (config.clusters)."""

from __future__ import annotations

import torch
from torch import Tensor

MAX_ITERATIONS = 100  # Lloyd's steps; MNIST's 10,000 digits settle in 30-60
# Larger sets are clustered on a sample of this many points, then every point is assigned: Stacked
# MNIST's 128,000 images in full would take minutes of a 2-core budget, a sample of them seconds.
MAX_POINTS = 20_000
ASSIGN_ROWS = 20_000  # points per product when assigning many: bounds the (rows, K) score matrix


def nearest(points: Tensor, centroids: Tensor) -> Tensor:
    """The index (N,) of each point's (N, D) nearest centroid (K, D); ties go to the lower index."""
    # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2, and ||x||^2 is the same for every c: one matrix product.
    scores = centroids.square().sum(1) - 2 * points @ centroids.T  # (N, K)
    return scores.argmin(1)


def kmeans_sampled(points: Tensor, k: int, seed: int, max_points: int = MAX_POINTS) -> tuple[Tensor, Tensor]:
    """`kmeans` of at most `max_points` of `points`, a uniform sample without replacement drawn from
    the seed, then every point's nearest centroid (N,). With no more points than that: `kmeans` itself."""
    if len(points) <= max_points:
        return kmeans(points, k, seed)
    rng = torch.Generator(points.device).manual_seed(seed)
    sample = points[torch.randperm(len(points), generator=rng, device=points.device)[:max_points]]
    centroids, _ = kmeans(sample, k, seed)
    return centroids, torch.cat([nearest(rows, centroids) for rows in points.split(ASSIGN_ROWS)])


def kmeans(points: Tensor, k: int, seed: int) -> tuple[Tensor, Tensor]:
    """Centroids (k, D) and each point's cluster (N,) for `points` (N, D) float32; deterministic
    for the seed on one machine. Clusters left empty restart at the points farthest from their own."""
    if not 0 < k <= len(points):
        raise ValueError(f"k = {k} clusters of {len(points)} points")
    rng = torch.Generator(points.device).manual_seed(seed)
    centroids = _plus_plus(points, k, rng)
    assignment = nearest(points, centroids)
    for _ in range(MAX_ITERATIONS):
        centroids = _means(points, assignment, centroids)
        updated = nearest(points, centroids)
        if torch.equal(updated, assignment):
            break
        assignment = updated
    return centroids, assignment


def _plus_plus(points: Tensor, k: int, rng: torch.Generator) -> Tensor:
    """k seeds: the first uniform, each next one drawn with probability proportional to its squared
    distance from the nearest seed so far."""
    # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2: one pass over the points per seed (a matrix-vector
    # product), where the difference, its square and their sum took three, and two N x D temporaries
    norms = points.square().sum(1)  # (N,)

    def squared_distances(index: int) -> Tensor:
        distance = (norms - 2 * (points @ points[index]) + norms[index]).clamp_min_(0)  # rounding: never < 0
        distance[index] = 0  # exactly: a seed is never drawn twice
        return distance

    chosen = [int(torch.randint(len(points), (1,), generator=rng, device=points.device))]
    distance = squared_distances(chosen[0])  # (N,)
    for _ in range(k - 1):
        total = distance.sum()
        index = int(torch.multinomial(distance / total, 1, generator=rng)) if total > 0 \
            else int(distance.argmax())  # fewer distinct points than k: any will do
        chosen.append(index)
        distance = torch.minimum(distance, squared_distances(index))
    return points[chosen].clone()


def _means(points: Tensor, assignment: Tensor, previous: Tensor) -> Tensor:
    k = len(previous)
    if points.device.type == "cpu":
        sums = torch.zeros_like(previous).index_add_(0, assignment, points)
    else:  # a GPU's index_add_ sums with atomics, in whatever order its threads run: a (K, N) @ (N, D)
        # product of the one-hot assignment sums the same way every time, so a run's clusters repeat
        sums = torch.nn.functional.one_hot(assignment, k).T.to(points.dtype) @ points
    counts = torch.bincount(assignment, minlength=k)
    centroids = sums / counts.clamp_min(1).unsqueeze(1).to(points.dtype)
    empty = torch.nonzero(counts == 0).flatten()
    if len(empty):  # each restarts at one of the points farthest from their own centroids
        farthest = (points - previous[assignment]).square().sum(1).topk(len(empty)).indices
        centroids[empty] = points[farthest]
    return centroids
