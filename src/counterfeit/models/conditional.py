"""Class-conditional G(z, y) -> images and D(x, y) -> logits, for drawing the digit asked for.

`cmlp`: Mirza & Osindero's conditional GAN, one-hot(y) concatenated to G's noise and to D's
pixels. `cdcgan`: a small DCGAN whose G takes cat(z, one-hot(y)) and whose D conditions by
projection (Miyato & Koyama 2018): logit = w·phi(x) + embed(y)·phi(x).

With `aux_classes > 0` D also has an auxiliary classifier head (AC-GAN, Odena et al. 2017) and
returns (B, 1 + classes): column 0 is the real/fake logit, the rest class logits. Without it D
returns (B,) logits like the unconditional models. The head is only built when used: every
parameter must receive a gradient in the training step.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from counterfeit.models.mlp import IMAGE_PIXELS, IMAGE_SHAPE, MLPGenerator, _activation

NUM_CLASSES = 10  # digits 0-9


def one_hot(labels: Tensor, like: Tensor) -> Tensor:
    return F.one_hot(labels, NUM_CLASSES).to(like.dtype)  # (B, 10)


class _Heads(nn.Module):
    """Features (B, F) and labels -> real/fake logit (+ projection) [and class logits]."""

    def __init__(self, features: int, aux_classes: int, projection: bool) -> None:
        super().__init__()
        self.adversarial = nn.Linear(features, 1)
        self.embed = nn.Embedding(NUM_CLASSES, features) if projection else None
        if self.embed is not None:
            # nn.Embedding's N(0, 1) would make embed(y)·phi ~sqrt(features) times a linear head's
            # logit: D starts saturated and G gets no signal. Start at a Linear layer's scale.
            nn.init.uniform_(self.embed.weight, -features ** -0.5, features ** -0.5)
        self.classifier = nn.Linear(features, aux_classes) if aux_classes else None

    def forward(self, features: Tensor, labels: Tensor) -> Tensor:
        logits = self.adversarial(features).squeeze(1)  # (B,)
        if self.embed is not None:  # inner product of the class embedding with the features
            logits = logits + (self.embed(labels) * features).sum(1)
        if self.classifier is None:
            return logits
        return torch.cat([logits.unsqueeze(1), self.classifier(features)], 1)  # (B, 1 + C)


class ConditionalMLPGenerator(nn.Module):
    """(z (B, z_dim), y (B,)) -> cat(z, one-hot y) (B, z_dim + 10) -> the MLP generator."""

    def __init__(self, z_dim: int, hidden: Sequence[int], activation: str, output: str,
                 leaky_slope: float) -> None:
        super().__init__()
        self.body = MLPGenerator(z_dim + NUM_CLASSES, hidden, activation, output, leaky_slope)
        self.z_dim = z_dim

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        return self.body(torch.cat([z, one_hot(labels, z)], 1))  # (B, 1, 28, 28)


class ConditionalMLPDiscriminator(nn.Module):
    """(x (B, 1, 28, 28), y) -> cat(pixels, one-hot y) (B, 794) -> [Linear -> act -> dropout]*."""

    def __init__(self, hidden: Sequence[int], activation: str, dropout: float, leaky_slope: float,
                 aux_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = IMAGE_PIXELS + NUM_CLASSES
        for h in hidden:
            layers += [nn.Linear(width, h), _activation(activation, leaky_slope)]  # (B, h)
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        self.trunk = nn.Sequential(*layers)
        self.heads = _Heads(width, aux_classes, projection=False)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        pixels = x.reshape(x.shape[0], IMAGE_PIXELS)
        return self.heads(self.trunk(torch.cat([pixels, one_hot(labels, pixels)], 1)), labels)


class ConditionalConvGenerator(nn.Module):
    """(z, y) -> Linear -> (B, c0, 7, 7) -> ConvT -> (B, c1, 14, 14) -> ConvT -> (B, 1, 28, 28).

    `channels` = (c0, c1); batch norm and ReLU after every layer but the last (Radford et al.).
    """

    def __init__(self, z_dim: int, channels: Sequence[int], output: str) -> None:
        super().__init__()
        if len(channels) != 2:
            raise ValueError("the convolutional generator takes two channel widths (7x7, 14x14)")
        c0, c1 = channels
        self.z_dim, self.c0 = z_dim, c0
        self.project = nn.Sequential(nn.Linear(z_dim + NUM_CLASSES, c0 * 7 * 7, bias=False),
                                     nn.BatchNorm1d(c0 * 7 * 7), nn.ReLU())  # (B, c0*49)
        self.up = nn.Sequential(
            nn.ConvTranspose2d(c0, c1, 4, 2, 1, bias=False), nn.BatchNorm2d(c1), nn.ReLU(),  # (B, c1, 14, 14)
            nn.ConvTranspose2d(c1, 1, 4, 2, 1),  # (B, 1, 28, 28)
            nn.Sigmoid() if output == "sigmoid" else nn.Tanh(),
        )

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        h = self.project(torch.cat([z, one_hot(labels, z)], 1))
        return self.up(h.view(-1, self.c0, 7, 7))


class ConditionalConvDiscriminator(nn.Module):
    """x (B, 1, 28, 28) -> Conv -> (B, c0, 14, 14) -> Conv -> (B, c1, 7, 7) -> phi (B, c1*49),
    then the projection heads. LeakyReLU and no batch norm: D sees real and fake in one batch,
    so a batch statistic would leak one half into the other."""

    def __init__(self, channels: Sequence[int], leaky_slope: float, aux_classes: int) -> None:
        super().__init__()
        if len(channels) != 2:
            raise ValueError("the convolutional discriminator takes two channel widths (14x14, 7x7)")
        c0, c1 = channels
        self.trunk = nn.Sequential(
            nn.Conv2d(1, c0, 4, 2, 1), nn.LeakyReLU(leaky_slope),  # (B, c0, 14, 14)
            nn.Conv2d(c0, c1, 4, 2, 1), nn.LeakyReLU(leaky_slope),  # (B, c1, 7, 7)
            nn.Flatten(),  # (B, c1*49)
        )
        self.heads = _Heads(c1 * 7 * 7, aux_classes, projection=True)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        return self.heads(self.trunk(x.view(-1, *IMAGE_SHAPE)), labels)


def call_generator(generator: nn.Module, z: Tensor, labels: Tensor | None) -> Tensor:
    """G(z) for an unconditional generator (labels None), G(z, y) for a conditional one."""
    return generator(z) if labels is None else generator(z, labels)
