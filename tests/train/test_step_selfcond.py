"""The self-conditioned step (config.clusters): D judges each real image with its nearest centroid's
cluster and each fake with the cluster its z drew, in both D's and G's updates."""

from __future__ import annotations

import pytest
import torch

from counterfeit.config import resolve
from counterfeit.models.selfcond import fit_clusters
from counterfeit.train import step
from counterfeit.train.state import build_state
from counterfeit.train.step import make_step

SMALL = {"model": "dcgan", "g_hidden": "8,4", "d_hidden": "4,8", "init": "dcgan-normal", "g_output": "tanh",
         "z_dim": "6", "prior": "normal", "clusters": "4", "batch_size": "16"}


def test_d_sees_real_clusters_and_the_clusters_g_drew(monkeypatch: pytest.MonkeyPatch) -> None:
    state = build_state(resolve(preset="tiny", overrides=SMALL))
    pixels = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    fit_clusters(state.generator, state.discriminator, pixels, seed=0)
    noises: list[torch.Tensor] = []
    judged: list[tuple[torch.Tensor, torch.Tensor]] = []
    real_noise, real_discriminate = state.noise, step.discriminate
    monkeypatch.setattr(state, "noise", lambda n: noises.append(real_noise(n)) or noises[-1])
    monkeypatch.setattr(step, "discriminate",
                        lambda s, images, labels: judged.append((images, labels)) or real_discriminate(s, images, labels))
    real = pixels[:16]
    make_step(state)(real)
    (d_real, real_labels), (_, fake_labels), (_, g_labels) = judged  # D update: real, fake; G update: fake
    assert torch.equal(d_real, real)
    assert torch.equal(real_labels, state.discriminator.clusters_of(real))
    assert torch.equal(fake_labels, state.generator.clusters_of(noises[0]))
    assert torch.equal(g_labels, state.generator.clusters_of(noises[1]))
    assert len(set(real_labels.tolist())) > 1 and len(set(fake_labels.tolist())) > 1  # not one cluster for all
