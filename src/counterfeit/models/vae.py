"""The encoder half of a VAE whose decoder is a generator (for `g_init = "vae"`)."""

from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from counterfeit.models.mlp import IMAGE_PIXELS


class MLPEncoder(nn.Module):
    """x (B, 1, 28, 28) -> 784 -> [Linear -> LeakyReLU]* -> mean, log-variance of q(z|x), each (B, z_dim)."""

    def __init__(self, z_dim: int, hidden: Sequence[int] = (512, 256), leaky_slope: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]  # (B, 784)
        width = IMAGE_PIXELS
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(leaky_slope)]  # (B, h)
            width = h
        layers.append(nn.Linear(width, 2 * z_dim))  # (B, 2·z_dim)
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean, log_var = self.net(x).chunk(2, dim=1)  # (B, z_dim) each
        return mean, log_var
