"""The textbook loop is the reference `bench` times our step against: on a self-conditioned model
(`clusters`) it must make the same update as the training step, labels included."""

from __future__ import annotations

import torch

from counterfeit.bench.textbook import textbook_state, textbook_step
from counterfeit.config import resolve
from counterfeit.models.selfcond import fit_clusters
from counterfeit.train.state import build_state
from counterfeit.train.step import make_step


def test_self_conditioned_textbook_step_makes_the_training_steps_update() -> None:
    config = resolve(preset="best", overrides={"g_hidden": "16,8", "d_hidden": "8,16", "batch_size": "8",
                                               "clusters": "5", "r1_gamma": "0", "precision": "fp32"})
    pixels = torch.rand(40, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    ours, textbook = build_state(config), textbook_state(config)
    for s in (ours, textbook):
        fit_clusters(s.generator, s.discriminator, pixels, seed=0)
    before = [p.detach().clone() for p in textbook.discriminator.parameters()]
    real = pixels[:8]
    make_step(ours)(real)
    textbook_step(real, textbook)
    for module in ("generator", "discriminator"):
        for a, b in zip(getattr(ours, module).parameters(), getattr(textbook, module).parameters()):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert any(not torch.equal(a, b) for a, b in zip(before, textbook.discriminator.parameters()))
