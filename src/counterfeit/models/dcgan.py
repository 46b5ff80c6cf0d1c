"""DCGAN for 28×28 (Radford et al. 2016, scaled to MNIST): transposed convolutions in G, strided
convolutions in D, no pooling, batch norm in G.

D has no batch norm (a common choice on MNIST): the DCGAN paper puts it in every D layer but the
first, but batch norm makes D(x) depend on the rest of its batch, so D's verdict on an image would
change with the batch it came in, and with how torchrun splits the batch over processes.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from counterfeit.models.mbstd import MinibatchStd


class DCGANGenerator(nn.Module):
    """z (B, z_dim) -> Linear -> (B, c0, 7, 7) -> ConvT -> (B, c1, 14, 14) -> ConvT -> (B, C, 28, 28)."""

    def __init__(self, z_dim: int, channels: Sequence[int] = (128, 64), output: str = "tanh",
                 image_channels: int = 1) -> None:
        super().__init__()
        c0, c1 = channels
        self.project = nn.Sequential(
            nn.Linear(z_dim, c0 * 7 * 7, bias=False),   # (B, c0·49); BN supplies the bias
            nn.Unflatten(1, (c0, 7, 7)),                # (B, c0, 7, 7)
            nn.BatchNorm2d(c0),
            nn.ReLU(),
        )
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(c0, c1, 4, 2, 1, bias=False),  # (B, c1, 14, 14)
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.ConvTranspose2d(c1, image_channels, 4, 2, 1),  # (B, C, 28, 28)
            nn.Sigmoid() if output == "sigmoid" else nn.Tanh(),
        )
        self.z_dim = z_dim

    def forward(self, z: Tensor) -> Tensor:
        return self.upsample(self.project(z))  # (B, C, 28, 28)


class DCGANDiscriminator(nn.Module):
    """x (B, C, 28, 28) -> Conv -> (B, c0, 14, 14) -> Conv -> (B, c1, 7, 7) -> Linear -> logit (B,).

    `mbstd_group` > 0: a minibatch-std channel (models/mbstd.py) joins the c1 at 7×7 before the flatten."""

    def __init__(self, channels: Sequence[int] = (64, 128), leaky_slope: float = 0.2, mbstd_group: int = 0,
                 image_channels: int = 1) -> None:
        super().__init__()
        c0, c1 = channels
        mbstd = [MinibatchStd(mbstd_group)] if mbstd_group else []  # (B, c1 + 1, 7, 7)
        features = (c1 + len(mbstd)) * 7 * 7
        self.net = nn.Sequential(
            nn.Conv2d(image_channels, c0, 4, 2, 1),  # (B, c0, 14, 14)
            nn.LeakyReLU(leaky_slope),
            nn.Conv2d(c0, c1, 4, 2, 1),   # (B, c1, 7, 7)
            nn.LeakyReLU(leaky_slope),
            *mbstd,
            nn.Flatten(),                 # (B, features)
            nn.Linear(features, 1),       # (B, 1) logit
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(1)  # (B,)


@torch.no_grad()
def init_dcgan_normal(module: nn.Module) -> None:
    """The DCGAN paper's init: every weight ~ N(0, 0.02); batch norm's scale ~ N(1, 0.02); biases 0."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(layer.weight, 1.0, 0.02)
            nn.init.zeros_(layer.bias)
