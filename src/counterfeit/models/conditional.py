"""Class-conditional G(z, y) -> images and D(x, y) -> logits, built from the plain models: the same
trunk, plus a conditioning step.

- G (both `cmlp` and `cdcgan`): one-hot(y) concatenated to the noise, then the plain generator
  (Mirza & Osindero 2014).
- D by concatenation (`cmlp`): one-hot(y) concatenated to the pixels, then the plain MLP trunk.
- D by projection (`cdcgan`, Miyato & Koyama 2018): the plain conv trunk's features phi(x), and
  logit = w·phi(x) + embed(y)·phi(x).

With `aux_classes > 0` D also has an auxiliary classifier head (AC-GAN, Odena et al. 2017) and
returns (B, 1 + classes): column 0 is the real/fake logit, the rest class logits. Without it D
returns (B,) logits like the unconditional models. The head is only built when used: every
parameter must receive a gradient in the training step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from counterfeit.data.labels import NUM_CLASSES

CONDITIONING = ("concatenation", "projection")


def one_hot(labels: Tensor, like: Tensor, classes: int = NUM_CLASSES) -> Tensor:
    return F.one_hot(labels, classes).to(like.dtype)  # (B, classes)


class ConditionalGenerator(nn.Module):
    """(z (B, z_dim), y (B,)) -> cat(z, one-hot y) (B, z_dim + 10) -> a plain generator built for
    z_dim + 10 inputs."""

    def __init__(self, body: nn.Module, z_dim: int) -> None:
        super().__init__()
        self.body, self.z_dim = body, z_dim

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        return self.body(torch.cat([z, one_hot(labels, z)], 1))  # (B, 1, 28, 28)


class ConditionalDiscriminator(nn.Module):
    """A plain discriminator (its `net` ends in the real/fake Linear head, after the features),
    conditioned on the label by concatenation (the body takes 784 + 10 inputs) or projection."""

    def __init__(self, body: nn.Module, conditioning: str, aux_classes: int, classes: int = NUM_CLASSES) -> None:
        super().__init__()
        if conditioning not in CONDITIONING:
            raise ValueError(f"unknown conditioning {conditioning!r}")
        self.body, self.conditioning, self.classes = body, conditioning, classes
        features = body.net[-1].in_features
        # With d_norm = spectral the embedding stays plain (models/spectral.py normalises Linear and
        # Conv2d layers only): the trunk's slope is bounded, and the projection scales it by |embed(y)|.
        self.embed = nn.Embedding(classes, features) if conditioning == "projection" else None
        if self.embed is not None:
            # nn.Embedding's N(0, 1) would make embed(y)·phi ~sqrt(features) times a linear head's
            # logit: D starts saturated and G gets no signal. Start at a Linear layer's scale.
            nn.init.uniform_(self.embed.weight, -features ** -0.5, features ** -0.5)
        self.classifier = nn.Linear(features, aux_classes) if aux_classes else None

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        if self.conditioning == "concatenation":
            x = torch.cat([x.flatten(1), one_hot(labels, x, self.classes)], 1)  # (B, 784 + classes)
        features = self.body.net[:-1](x)  # (B, F)
        logits = self.body.net[-1](features).squeeze(1)  # (B,)
        if self.embed is not None:  # inner product of the class embedding with the features
            logits = logits + (self.embed(labels) * features).sum(1)
        if self.classifier is None:
            return logits
        return torch.cat([logits.unsqueeze(1), self.classifier(features)], 1)  # (B, 1 + C)


def call_generator(generator: nn.Module, z: Tensor, labels: Tensor | None) -> Tensor:
    """G(z) for an unconditional generator (labels None), G(z, y) for a conditional one."""
    return generator(z) if labels is None else generator(z, labels)
