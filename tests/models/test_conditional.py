from __future__ import annotations

import pytest
import torch

from counterfeit.config import resolve
from counterfeit.models import build_discriminator, build_generator

SMALL = {"cgan": {"g_hidden": "32,64", "d_hidden": "64"}, "cdcgan": {"g_hidden": "16,8", "d_hidden": "8,16"}}


@pytest.mark.parametrize("preset", ["cgan", "cdcgan"])
@pytest.mark.parametrize("aux_weight", ["0", "1"])
def test_shapes(preset: str, aux_weight: str) -> None:
    config = resolve(preset=preset, overrides={**SMALL[preset], "aux_weight": aux_weight})
    g, d = build_generator(config), build_discriminator(config)
    z, y = torch.randn(5, config.z_dim), torch.arange(5)
    images = g(z, y)
    assert images.shape == (5, 1, 28, 28)
    assert images.min() >= -1 and images.max() <= 1  # tanh
    assert d(images, y).shape == ((5,) if aux_weight == "0" else (5, 11))


@pytest.mark.parametrize("preset", ["cgan", "cdcgan"])
def test_generator_and_discriminator_depend_on_the_label(preset: str) -> None:
    config = resolve(preset=preset, overrides=SMALL[preset])
    torch.manual_seed(0)
    g, d = build_generator(config).eval(), build_discriminator(config).eval()
    z = torch.randn(1, config.z_dim).repeat(10, 1)  # one z, ten labels
    images = g(z, torch.arange(10))
    assert all(not torch.equal(images[0], images[k]) for k in range(1, 10))
    logits = d(images[:1].repeat(10, 1, 1, 1), torch.arange(10))[:, 0]  # one image, ten labels
    assert logits.unique().numel() == 10


@pytest.mark.parametrize("aux_weight", ["0", "1"])
def test_the_projection_logit_is_w_phi_plus_b_plus_embed_y_phi(aux_weight: str) -> None:
    """Miyato & Koyama's logit, however D computes it: its value and every parameter's gradient."""
    config = resolve(preset="cdcgan", overrides={**SMALL["cdcgan"], "aux_weight": aux_weight})
    torch.manual_seed(0)
    d = build_discriminator(config).double()
    x, y = torch.randn(6, 1, 28, 28, dtype=torch.float64), torch.tensor([3, 0, 9, 3, 1, 7])
    phi = d.body.net[:-1](x)
    head = d.body.net[-1]
    expected = phi @ head.weight[0] + head.bias[0] + (d.embed(y) * phi).sum(1)
    got = d(x, y)
    logits = got if aux_weight == "0" else got[:, 0]
    torch.testing.assert_close(logits, expected)
    params = [p for p in d.parameters()]
    weights = torch.randn(len(y), dtype=torch.float64)
    ours = torch.autograd.grad((logits * weights).sum() + (0 if aux_weight == "0" else got[:, 1:].sum()), params)
    phi = d.body.net[:-1](x)  # the definition's graph, again
    definition = phi @ head.weight[0] + head.bias[0] + (d.embed(y) * phi).sum(1)
    aux = 0 if aux_weight == "0" else d.classifier(phi).sum()
    theirs = torch.autograd.grad((definition * weights).sum() + aux, params)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b)


def test_cdcgan_needs_two_channel_widths() -> None:
    from counterfeit.errors import ConfigError
    with pytest.raises(ConfigError, match="two channel widths"):
        resolve(preset="cdcgan", overrides={"g_hidden": "8,8,8"})


def test_aux_weight_needs_a_conditional_model() -> None:
    from counterfeit.errors import ConfigError
    with pytest.raises(ConfigError, match="aux_weight needs a conditional model"):
        resolve(preset="tiny", overrides={"aux_weight": "1"})


@pytest.mark.parametrize("preset,plain_g,plain_d", [("cgan", "MLPGenerator", "MLPDiscriminator"),
                                                     ("cdcgan", "DCGANGenerator", "DCGANDiscriminator")])
def test_conditional_models_wrap_the_plain_trunks(preset: str, plain_g: str, plain_d: str) -> None:
    """One trunk per architecture: the conditional model is the plain one plus a conditioning step."""
    config = resolve(preset=preset, overrides=SMALL[preset])
    g, d = build_generator(config), build_discriminator(config)
    assert type(g.body).__name__ == plain_g and type(d.body).__name__ == plain_d
    assert d.conditioning == ("projection" if preset == "cdcgan" else "concatenation")


def test_dcgan_normal_init_reaches_every_batch_norm_of_a_conditional_generator() -> None:
    config = resolve(preset="cdcgan", overrides={**SMALL["cdcgan"], "init": "dcgan-normal"})
    norms = [m for m in build_generator(config).modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert norms and all(not torch.equal(m.weight, torch.ones_like(m.weight)) for m in norms)


def test_dcgan_normal_init_reaches_batchnorm1d() -> None:
    from counterfeit.models.dcgan import init_dcgan_normal

    torch.manual_seed(0)
    norm = torch.nn.BatchNorm1d(64)
    init_dcgan_normal(torch.nn.Sequential(norm))
    assert not torch.equal(norm.weight, torch.ones(64)) and abs(norm.weight.mean().item() - 1) < 0.02
