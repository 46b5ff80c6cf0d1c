"""mlp4 (the second tutorial) and dcgan: sizes, shapes, inits."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from counterfeit.config import preset_names, resolve
from counterfeit.models import build_discriminator, build_generator, count_parameters


def test_mlp4_parameter_counts_and_shapes() -> None:
    config = resolve(preset="mlp4")
    g, d = build_generator(config), build_discriminator(config)
    assert count_parameters(g) == 1_486_352
    assert count_parameters(d) == 1_460_225
    images = g(torch.randn(5, 100))
    assert images.shape == (5, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    assert d(images).shape == (5,)


def test_mlp4_uses_the_tutorials_xavier_init() -> None:
    # xavier_init([in, out]) draws U(±1/sqrt(out)): D's last layer (256 -> 1) gets U(±1).
    d = build_discriminator(resolve(preset="mlp4"))
    last = [m for m in d.modules() if isinstance(m, nn.Linear)][-1]
    assert 0.5 < last.weight.abs().max() <= 1.0 and last.bias.abs().max() <= 1.0
    first = [m for m in d.modules() if isinstance(m, nn.Linear)][0]  # 784 -> 1024: U(±1/32)
    assert 0.9 / 32 < first.weight.abs().max() <= 1 / 32


@pytest.mark.parametrize("d_dropout, rate", [("0.3", 0.3), ("0.7", 0.7)])
def test_mlp4_dropout_rate(d_dropout: str, rate: float) -> None:
    d = build_discriminator(resolve(preset="mlp4", overrides={"d_dropout": d_dropout}))
    assert [m.p for m in d.modules() if isinstance(m, nn.Dropout)] == [rate] * 3


def test_dcgan_shapes_and_init() -> None:
    config = resolve(preset="dcgan")
    g, d = build_generator(config), build_discriminator(config)
    z = torch.randn(4, 100)
    assert g.project(z).shape == (4, 128, 7, 7)
    assert g.upsample[:3](g.project(z)).shape == (4, 64, 14, 14)
    images = g(z)
    assert images.shape == (4, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    assert d.net[:2](images).shape == (4, 64, 14, 14) and d.net[:4](images).shape == (4, 128, 7, 7)
    assert d(images).shape == (4,)
    convs = [m for m in [*g.modules(), *d.modules()] if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert all(abs(m.weight.std().item() - 0.02) < 0.004 for m in convs)
    assert any(isinstance(m, nn.BatchNorm2d) for m in g.modules())


def test_dcgan_channel_widths_come_from_the_hidden_keys() -> None:
    config = resolve(preset="dcgan", overrides={"g_hidden": "32,16", "d_hidden": "8,16"})
    g, d = build_generator(config), build_discriminator(config)
    assert g.project(torch.randn(2, 100)).shape == (2, 32, 7, 7)
    assert d.net[:4](torch.rand(2, 1, 28, 28)).shape == (2, 16, 7, 7)


@pytest.mark.parametrize("model", ["mlp", "dcgan"])
def test_three_channel_g_and_d(model: str) -> None:
    # channels = 3 (stacked-mnist): G draws (B, 3, 28, 28); D reads 3 channels, each its own weights.
    config = resolve(preset="tiny", overrides={"model": model, "channels": "3", "g_hidden": "8,4",
                                               "d_hidden": "4,8", "init": "dcgan-normal"})
    g, d = build_generator(config), build_discriminator(config)
    images = g(torch.randn(5, config.z_dim))
    assert images.shape == (5, 3, 28, 28)
    assert d(images).shape == (5,)
    first = next(m for m in d.modules() if isinstance(m, (nn.Linear, nn.Conv2d)))
    assert (first.in_features == 3 * 784) if model == "mlp" else (first.in_channels == 3)
    changed = images.clone()
    changed[:, 2] = 0.5  # D reads the third channel too
    assert not torch.equal(d(images), d(changed))


@pytest.mark.parametrize("name", preset_names())
def test_no_discriminator_is_batch_dependent(name: str) -> None:
    # D's verdict on an image must not depend on how its batch is split (torchrun splits batches
    # over processes): batch norm in D would break this. Minibatch-std (the stacked preset) reads
    # groups of d_mbstd_group consecutive rows, so it holds for splits at group boundaries, which
    # config and torchrun enforce. Dropout is off so that no random masks are drawn, and spectral
    # norm (which mixes no rows) so that each call's power iteration does not move the weights.
    config = resolve(preset=name, overrides={"d_dropout": "0", "d_norm": "none"})
    d = build_discriminator(config).train()
    n_real = 2 * config.d_mbstd_group if config.d_mbstd else 6
    real, fake = torch.rand(n_real, config.channels, 28, 28), torch.rand(16 - n_real, config.channels, 28, 28)
    y = torch.arange(16) % 10  # conditional and self-conditioned D(x, y) take labels; the others none
    labelled = config.conditional or config.clusters > 0
    verdict = (lambda x, rows: d(x, y[rows])) if labelled else (lambda x, rows: d(x))
    torch.testing.assert_close(verdict(torch.cat([real, fake]), slice(0, 16)),
                               torch.cat([verdict(real, slice(0, n_real)), verdict(fake, slice(n_real, 16))]))
