"""Self-conditioning (Liu et al. 2020, "Diverse Image Generation via Self-Conditioned GANs"): the
conditional G and projection D of cdcgan, conditioned on k-means clusters of the training images
instead of labels, so an unlabelled dataset gets the conditional model's precision.

To everything outside training the generator is unconditional, G(z): the last entry of z picks the
cluster, through the prior's distribution function and the clusters' cumulative shares of the data,
so clusters come as often as in the data and every sample, grid, EMA and evaluation path that calls
G(z) works unchanged. D judges (image, cluster) pairs: a real image's cluster is its nearest
centroid, a fake's the one G was asked to draw.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from counterfeit.data.kmeans import kmeans_sampled, nearest
from counterfeit.models.conditional import ConditionalDiscriminator, one_hot
from counterfeit.priors import MARGINAL_CDFS


class ClusterGenerator(nn.Module):
    """z (B, z_dim) -> cluster c from z[:, -1] -> body(cat(z[:, :-1], one-hot c)); the body is a
    plain generator built for z_dim - 1 + clusters inputs."""

    def __init__(self, body: nn.Module, z_dim: int, clusters: int, prior: str) -> None:
        super().__init__()
        self.body, self.z_dim, self.clusters, self.prior = body, z_dim, clusters, prior
        # Cumulative share of the data in clusters 0..k-1; equal shares until fit_clusters sets them.
        self.register_buffer("cluster_cdf", torch.arange(1, clusters + 1, dtype=torch.float32) / clusters)

    def clusters_of(self, z: Tensor) -> Tensor:
        """The cluster (B,) that noise z (B, z_dim) draws."""
        u = MARGINAL_CDFS[self.prior](z[:, -1].float()).contiguous()  # uniform on [0, 1]
        return torch.searchsorted(self.cluster_cdf, u, right=True).clamp_(max=self.clusters - 1)

    def labelled(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """The images (B, C, 28, 28) and the clusters (B,) z drew them from: the training step
        gives D both, so the cluster is picked once."""
        clusters = self.clusters_of(z)
        return self.body(torch.cat([z[:, :-1], one_hot(clusters, z, self.clusters)], 1)), clusters

    def forward(self, z: Tensor) -> Tensor:
        return self.labelled(z)[0]


class ClusterDiscriminator(ConditionalDiscriminator):
    """The projection discriminator over clusters, with the clusters' centroids (k, C * 784) that
    assign a real image its cluster."""

    def __init__(self, body: nn.Module, clusters: int, pixels: int) -> None:
        super().__init__(body, "projection", aux_classes=0, classes=clusters)
        self.register_buffer("centroids", torch.zeros(clusters, pixels))

    def clusters_of(self, images: Tensor) -> Tensor:
        """The cluster (B,) of each image (B, C, 28, 28): its nearest centroid."""
        with torch.autocast(images.device.type, enabled=False):  # bf16 products would move the borders
            return nearest(images.flatten(1).float(), self.centroids)


@torch.no_grad()
def fit_clusters(generator: ClusterGenerator, discriminator: ClusterDiscriminator, pixels: Tensor,
                 seed: int) -> Tensor:
    """k-means of the training images `pixels` (N, C, 28, 28) (of a sample of them, for large sets)
    into G's number of clusters: D gets the centroids, G the clusters' shares of all N images.
    Returns each image's cluster (N,)."""
    centroids, assignment = kmeans_sampled(pixels.flatten(1).float(), generator.clusters, seed)
    counts = torch.bincount(assignment, minlength=generator.clusters).double()
    discriminator.centroids.copy_(centroids)
    cdf = (counts.cumsum(0) / counts.sum()).float()
    cdf[-1] = 1.0  # rounding must not leave a sliver of u above the last cluster
    generator.cluster_cdf.copy_(cdf)
    return assignment


@torch.no_grad()
def copy_clusters(generator: ClusterGenerator, discriminator: ClusterDiscriminator,
                  fitted_generator: ClusterGenerator, fitted_discriminator: ClusterDiscriminator) -> None:
    """What `fit_clusters` set on a fitted pair, given to another pair of the same config."""
    discriminator.centroids.copy_(fitted_discriminator.centroids)
    generator.cluster_cdf.copy_(fitted_generator.cluster_cdf)
