from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from counterfeit.config import resolve
from counterfeit.data.loading import load_dataset
from counterfeit.data.sampler import to_pixels
from counterfeit.priors import Prior
from counterfeit.train.loop import train
from counterfeit.rundir import RunDir
from counterfeit.train.state import build_state
from counterfeit.train.vae import PRIOR_STD, pretrain_vae, vae_loss


@pytest.mark.parametrize("prior_std", [1.0, 1 / math.sqrt(3)])
def test_kl_term_is_the_gaussian_kl(prior_std: float) -> None:
    mean, log_var = torch.randn(5, 3), torch.randn(5, 3)
    x = torch.rand(5, 1, 28, 28)
    _, kl = vae_loss(x, x, mean, log_var, prior_std)
    expected = kl_divergence(Normal(mean, (0.5 * log_var).exp()), Normal(0.0, prior_std)).sum() / 5
    assert kl.item() == pytest.approx(expected.item(), rel=1e-5)


def test_vae_prior_has_the_gan_prior_variance() -> None:
    for name, std in PRIOR_STD.items():
        z = Prior(name, 32).sample(20000, torch.Generator().manual_seed(0))
        assert z.var().item() == pytest.approx(std ** 2, rel=0.03), name


def test_g_init_vae_logs_the_pre_training(tmp_path: Path) -> None:
    config = resolve(preset="tiny", overrides={"g_init": "vae", "vae_steps": "30", "steps": "2"})
    run = train(config, out=tmp_path / "vae", quiet=True)
    log = [json.loads(line) for line in (run / "vae.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 10, 20, 30]
    assert log[-1]["loss"] < log[0]["loss"]  # the decoder learnt something
    assert all(r["kl"] >= 0 for r in log)
    assert (run / "vae_samples.png").is_file()


def test_g_init_vae_replaces_the_random_init_and_restarts_the_average(tmp_path: Path) -> None:
    config = resolve(preset="tiny", overrides={"g_init": "vae", "vae_steps": "5", "ema": "0.5"})
    random_g = build_state(config).generator.state_dict()  # same seed: the init G would start from
    state = build_state(config)
    pixels = to_pixels(load_dataset(None).images[:200], config.pixel_range)
    pretrain_vae(state, pixels, RunDir(tmp_path), quiet=True)
    pretrained = state.generator.state_dict()
    assert any(not torch.equal(pretrained[k], random_g[k]) for k in pretrained)
    for name, tensor in state.ema.model.state_dict().items():  # the average restarts from the decoder
        torch.testing.assert_close(tensor, pretrained[name])
