"""Builds G and D from a Config: the one place that maps config keys to modules."""

from __future__ import annotations

from torch import nn

from counterfeit.config import Config
from counterfeit.models.conditional import (NUM_CLASSES, ConditionalConvDiscriminator,
                                            ConditionalConvGenerator, ConditionalMLPDiscriminator,
                                            ConditionalMLPGenerator)
from counterfeit.models.dcgan import DCGANDiscriminator, DCGANGenerator, init_dcgan_normal
from counterfeit.models.mlp import INITS as MLP_INITS
from counterfeit.models.mlp import MLPDiscriminator, MLPGenerator

INITS = {**MLP_INITS, "dcgan-normal": init_dcgan_normal}


def build_generator(config: Config) -> nn.Module:
    generator: nn.Module
    if config.model == "dcgan":  # g_hidden: the channels at 7×7 and at 14×14
        generator = DCGANGenerator(config.z_dim, config.g_hidden, config.g_output)
    elif config.model == "cdcgan":
        generator = ConditionalConvGenerator(config.z_dim, config.g_hidden, config.g_output)
    elif config.model == "cmlp":
        generator = ConditionalMLPGenerator(config.z_dim, config.g_hidden, config.activation,
                                            config.g_output, config.leaky_slope)
    else:
        generator = MLPGenerator(config.z_dim, config.g_hidden, config.activation, config.g_output,
                                 config.leaky_slope)
    INITS[config.init](generator)
    return generator


def build_discriminator(config: Config) -> nn.Module:
    aux_classes = NUM_CLASSES if config.aux_weight > 0 else 0
    discriminator: nn.Module
    if config.model == "dcgan":  # d_hidden: the channels at 14×14 and at 7×7
        discriminator = DCGANDiscriminator(config.d_hidden, config.leaky_slope)
    elif config.model == "cdcgan":
        discriminator = ConditionalConvDiscriminator(config.d_hidden, config.leaky_slope, aux_classes)
    elif config.model == "cmlp":
        discriminator = ConditionalMLPDiscriminator(config.d_hidden, config.activation,
                                                    config.d_dropout, config.leaky_slope, aux_classes)
    else:
        discriminator = MLPDiscriminator(config.d_hidden, config.activation, config.d_dropout,
                                         config.leaky_slope)
    INITS[config.init](discriminator)
    return discriminator


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
