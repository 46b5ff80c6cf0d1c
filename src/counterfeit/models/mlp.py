"""Fully connected G and D, as in both tutorials (two or four Linear layers per network)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from counterfeit.models.mbstd import MinibatchStd

IMAGE_SIDE = 28
IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE  # per channel


def _activation(name: str, leaky_slope: float) -> nn.Module:
    return nn.ReLU() if name == "relu" else nn.LeakyReLU(leaky_slope)


class MLPGenerator(nn.Module):
    """z (B, z_dim) -> [Linear -> activation]* -> Linear 784 C -> sigmoid|tanh -> (B, C, 28, 28)."""

    def __init__(self, z_dim: int, hidden: Sequence[int], activation: str = "relu",
                 output: str = "sigmoid", leaky_slope: float = 0.2, channels: int = 1) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = z_dim
        for h in hidden:
            layers += [nn.Linear(width, h), _activation(activation, leaky_slope)]  # (B, h)
            width = h
        layers += [nn.Linear(width, IMAGE_PIXELS * channels), nn.Sigmoid() if output == "sigmoid" else nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.z_dim, self.channels = z_dim, channels

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(-1, self.channels, IMAGE_SIDE, IMAGE_SIDE)  # (B, C, 28, 28)


class MLPDiscriminator(nn.Module):
    """x (B, C, 28, 28) -> 784 C -> [Linear -> activation -> dropout]* -> Linear 1 -> logit (B,).

    `inputs`: 784 C, or more when a conditional model appends a label's one-hot to the pixels.
    `mbstd_group` > 0: a minibatch-std feature (models/mbstd.py) is one more input of the last Linear."""

    def __init__(self, hidden: Sequence[int], activation: str = "relu", dropout: float = 0.0,
                 leaky_slope: float = 0.2, inputs: int = IMAGE_PIXELS, mbstd_group: int = 0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = inputs
        for h in hidden:
            layers += [nn.Linear(width, h), _activation(activation, leaky_slope)]  # (B, h)
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        if mbstd_group:
            layers.append(MinibatchStd(mbstd_group))  # (B, width + 1)
            width += 1
        layers.append(nn.Linear(width, 1))  # (B, 1) logit; the tutorials' sigmoid lives in the loss
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.flatten(1)).squeeze(1)  # (B,)


@torch.no_grad()
def init_tf_truncated_normal(module: nn.Module) -> None:
    """TensorFlow's MNIST-tutorial helpers: W ~ truncated normal (sigma 0.1, cut at 2 sigma), b = 0.1."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.trunc_normal_(layer.weight, std=0.1, a=-0.2, b=0.2)
            nn.init.constant_(layer.bias, 0.1)


@torch.no_grad()
def init_tutorial_uniform(module: nn.Module) -> None:
    """The second tutorial's `xavier_init`, literally: for a TF weight of shape [in, out] it uses
    size[1] = out, so W ~ U(±1/sqrt(out_features)); a bias of length n gets U(±1/sqrt(n))."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            out_features = layer.weight.shape[0]
            bound = out_features ** -0.5
            nn.init.uniform_(layer.weight, -bound, bound)
            nn.init.uniform_(layer.bias, -bound, bound)


INITS = {
    "tf-truncated-normal": init_tf_truncated_normal,
    "tutorial-uniform": init_tutorial_uniform,
    "torch-default": lambda module: None,  # nn.Linear's own Kaiming-uniform init
}
