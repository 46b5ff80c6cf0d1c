"""Builds G and D from a Config: the one place that maps config keys to modules."""

from __future__ import annotations

from torch import nn

from counterfeit.config import Config
from counterfeit.models.mlp import INITS, MLPDiscriminator, MLPGenerator


def build_generator(config: Config) -> nn.Module:
    generator = MLPGenerator(config.z_dim, config.g_hidden, config.activation, config.g_output,
                             config.leaky_slope)
    INITS[config.init](generator)
    return generator


def build_discriminator(config: Config) -> nn.Module:
    discriminator = MLPDiscriminator(config.d_hidden, config.activation, config.d_dropout,
                                     config.leaky_slope)
    INITS[config.init](discriminator)
    return discriminator


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
