"""k-means: it finds separated clusters, is deterministic for a seed, and its assignment is the
nearest-centroid rule D applies in training."""

from __future__ import annotations

import pytest
import torch

from counterfeit.data.kmeans import kmeans, kmeans_sampled, nearest


def blobs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Three tight blobs far apart in 5 dimensions, 40 points each, shuffled."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0] * 5, [10.0] * 5, [0.0, 10.0, 0.0, 10.0, 0.0]])
    truth = torch.arange(3).repeat_interleave(40)
    order = torch.randperm(120, generator=g)
    points = centres[truth] + 0.1 * torch.randn(120, 5, generator=g)
    return points[order], truth[order]


def test_nearest_by_hand() -> None:
    centroids = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 3.0]])
    points = torch.tensor([[1.0, 0.5], [3.0, 0.2], [0.4, 2.0], [2.0, 0.0]])  # the last: a tie of 0 and 1
    assert nearest(points, centroids).tolist() == [0, 1, 2, 0]


def test_finds_separated_clusters_and_their_means() -> None:
    points, truth = blobs()
    centroids, assignment = kmeans(points, 3, seed=0)
    # the same partition, up to the clusters' names
    pairs = set(zip(assignment.tolist(), truth.tolist()))
    assert len(pairs) == 3 and len({a for a, _ in pairs}) == 3
    for cluster in range(3):
        assert torch.allclose(centroids[cluster], points[assignment == cluster].mean(0), atol=1e-5)
    assert torch.equal(nearest(points, centroids), assignment)


def test_deterministic_for_a_seed_and_seeded() -> None:
    points = torch.rand(300, 8, generator=torch.Generator().manual_seed(3))  # no cluster structure
    first, again, other = kmeans(points, 6, seed=1), kmeans(points, 6, seed=1), kmeans(points, 6, seed=2)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[0], other[0])


def test_every_cluster_is_used_when_points_repeat() -> None:
    points = torch.tensor([[0.0, 0.0]] * 10 + [[5.0, 5.0]] * 10 + [[9.0, 0.0]] * 2)
    _, assignment = kmeans(points, 3, seed=0)
    assert sorted(torch.bincount(assignment, minlength=3).tolist()) == [2, 10, 10]


def test_more_clusters_than_points_is_refused() -> None:
    with pytest.raises(ValueError, match="4 clusters of 3 points"):
        kmeans(torch.rand(3, 2), 4, seed=0)


def test_sampled_fits_a_sample_and_assigns_every_point() -> None:
    points, truth = blobs()
    # no more points than the cap: kmeans itself, number for number
    for a, b in zip(kmeans_sampled(points, 3, seed=4, max_points=120), kmeans(points, 3, seed=4)):
        assert torch.equal(a, b)
    centroids, assignment = kmeans_sampled(points, 3, seed=4, max_points=30)
    assert len(assignment) == 120  # every point assigned, not only the 30 it was fitted on
    assert torch.equal(assignment, nearest(points, centroids))
    pairs = set(zip(assignment.tolist(), truth.tolist()))  # a sample of 30 still finds the 3 blobs
    assert len(pairs) == 3 and len({a for a, _ in pairs}) == 3
    again = kmeans_sampled(points, 3, seed=4, max_points=30)
    assert torch.equal(again[0], centroids)  # the sample is drawn from the seed
    assert not torch.equal(kmeans_sampled(points, 3, seed=5, max_points=30)[0], centroids)
