from __future__ import annotations

import pytest
import torch

from counterfeit.config import resolve
from counterfeit.models import build_discriminator, build_generator, count_parameters


def test_mlp2_parameter_counts_and_shapes() -> None:
    config = resolve(preset="mlp2")
    g, d = build_generator(config), build_discriminator(config)
    assert count_parameters(g) == 234_512
    assert count_parameters(d) == 100_609
    images = g(torch.rand(5, 128) * 2 - 1)
    assert images.shape == (5, 1, 28, 28)
    assert images.min() >= 0 and images.max() <= 1  # sigmoid output: pixels in [0, 1]
    assert d(images).shape == (5,)


def test_tf_truncated_normal_init() -> None:
    g = build_generator(resolve(preset="mlp2"))
    for layer in (m for m in g.modules() if isinstance(m, torch.nn.Linear)):
        assert layer.weight.abs().max() <= 0.2  # cut at two sigma
        assert layer.weight.std().item() == pytest.approx(0.088, abs=0.01)  # σ=0.1 truncated at 2σ
        assert torch.all(layer.bias == 0.1)


def test_tutorial_uniform_init_uses_the_output_size() -> None:
    g = build_generator(resolve(preset="mlp2", overrides={"init": "tutorial-uniform"}))
    first = g.net[0]  # Linear(128 -> 256): bound 1/sqrt(256)
    assert first.weight.abs().max() <= 1 / 16
    assert first.weight.abs().max() > 0.9 / 16


def test_torch_default_init_differs() -> None:
    torch.manual_seed(0)
    g = build_generator(resolve(preset="mlp2", overrides={"init": "torch-default"}))
    assert not torch.all(g.net[0].bias == 0.1)


def test_tanh_output_and_dropout() -> None:
    config = resolve(preset="mlp2", overrides={"g_output": "tanh", "d_dropout": "0.3", "activation": "leaky_relu"})
    g, d = build_generator(config), build_discriminator(config)
    images = g(torch.randn(4, 128))
    assert images.min() >= -1 and images.max() <= 1 and images.min() < 0
    assert any(isinstance(m, torch.nn.Dropout) for m in d.modules())
    assert any(isinstance(m, torch.nn.LeakyReLU) for m in g.modules())
