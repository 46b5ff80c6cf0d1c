"""Self-conditioning (models/selfcond.py): z's last entry picks the cluster as often as the data
holds it, G reads the rest and the cluster, and fitting gives D the centroids of the data."""

from __future__ import annotations


from pathlib import Path

import pytest
import torch

import counterfeit
from counterfeit.config import resolve
from counterfeit.errors import ConfigError
from counterfeit.models import build_discriminator, build_generator
from counterfeit.models.conditional import one_hot
from counterfeit.models.selfcond import ClusterDiscriminator, ClusterGenerator, fit_clusters

SMALL = {"model": "dcgan", "g_hidden": "8,4", "d_hidden": "4,8", "init": "dcgan-normal", "g_output": "tanh",
         "z_dim": "6", "prior": "normal", "clusters": "3"}


def test_last_entry_of_z_picks_the_cluster_by_the_cdf() -> None:
    g = build_generator(resolve(preset="tiny", overrides=SMALL))
    assert isinstance(g, ClusterGenerator)
    g.cluster_cdf.copy_(torch.tensor([0.2, 0.5, 1.0]))
    # Phi(-1) = 0.159 -> 0; Phi(-0.5) = 0.309 -> 1; Phi(0) = 0.5 -> 2 (a share ends where the next starts)
    last = torch.tensor([-3.0, -1.0, -0.5, 0.0, 1.0, 8.0])
    z = torch.cat([torch.randn(6, 5), last.unsqueeze(1)], 1)
    assert g.clusters_of(z).tolist() == [0, 0, 1, 2, 2, 2]


def test_uniform_prior_maps_linearly() -> None:
    g = build_generator(resolve(preset="tiny", overrides={**SMALL, "prior": "uniform"}))
    g.cluster_cdf.copy_(torch.tensor([0.25, 0.5, 1.0]))
    z = torch.zeros(4, 6)
    z[:, -1] = torch.tensor([-0.9, -0.4, 0.1, 0.99])  # u = 0.05, 0.3, 0.55, 0.995
    assert g.clusters_of(z).tolist() == [0, 1, 2, 2]


def test_clusters_come_as_often_as_their_shares() -> None:
    g = build_generator(resolve(preset="tiny", overrides=SMALL))
    g.cluster_cdf.copy_(torch.tensor([0.1, 0.4, 1.0]))
    z = torch.randn(40_000, 6, generator=torch.Generator().manual_seed(0))
    shares = torch.bincount(g.clusters_of(z), minlength=3) / 40_000
    # binomial standard error at n = 40,000 is at most 0.0025; 4 of them
    assert torch.allclose(shares, torch.tensor([0.1, 0.3, 0.6]), atol=0.01)


def test_generator_reads_the_rest_of_z_and_the_cluster() -> None:
    g = build_generator(resolve(preset="tiny", overrides=SMALL)).eval()
    z = torch.randn(4, 6)
    by_hand = g.body(torch.cat([z[:, :-1], one_hot(g.clusters_of(z), z, 3)], 1))
    assert torch.equal(g(z), by_hand)
    assert g.body.project[0].in_features == 5 + 3


def test_fit_gives_d_the_centroids_and_g_the_shares() -> None:
    config = resolve(preset="tiny", overrides=SMALL)
    g, d = build_generator(config), build_discriminator(config)
    assert isinstance(d, ClusterDiscriminator)
    pixels = torch.full((30, 1, 28, 28), -1.0)
    pixels[10:, :, :14] = 1.0  # 20 images with a bright top half
    pixels[25:] = 1.0  # 5 of them all bright
    assignment = fit_clusters(g, d, pixels, seed=0)
    assert sorted(torch.bincount(assignment).tolist()) == [5, 10, 15]
    shares = torch.bincount(assignment, minlength=3) / 30
    assert torch.allclose(g.cluster_cdf, shares.cumsum(0)) and g.cluster_cdf[-1] == 1.0
    assert torch.equal(d.clusters_of(pixels), assignment)
    for cluster in range(3):
        assert torch.equal(d.centroids[cluster], pixels[assignment == cluster].flatten(1).mean(0))


def test_d_judges_the_pair() -> None:
    d = build_discriminator(resolve(preset="tiny", overrides=SMALL)).eval()
    image = torch.rand(1, 1, 28, 28).repeat(3, 1, 1, 1)
    assert d(image, torch.arange(3)).unique().numel() == 3


@pytest.mark.parametrize(("change", "message"), [
    ({"model": "mlp"}, "clusters = 3 needs model = dcgan"),
    ({"prior": "sphere"}, "clusters needs prior normal or uniform"),
    ({"z_dim": "1"}, "clusters needs z_dim >= 2"),
    ({"loss": "wgan-gp"}, "clusters does not support loss wgan-gp"),
])
def test_unsupported_settings_are_refused(change: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve(preset="tiny", overrides={**SMALL, **change})


def test_a_runs_generator_keeps_its_clusters_shares(tmp_path: Path) -> None:
    run = counterfeit.train(preset="tiny", out=tmp_path / "run", quiet=True, steps=2,
                            **{k: v for k, v in SMALL.items() if k != "clusters"}, clusters=3)
    generator, config = counterfeit.load_generator(run)
    cdf = generator.cluster_cdf
    assert config.clusters == 3 and cdf[-1] == 1.0
    assert not torch.allclose(cdf, torch.tensor([1 / 3, 2 / 3, 1.0]))  # the data's shares, not the initial ones
    assert counterfeit.generate(generator, config, n=5, seed=0).shape == (5, 28, 28)
