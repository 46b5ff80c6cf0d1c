"""Builds G and D from a Config: the one place that maps config keys to modules."""

from __future__ import annotations

from torch import nn

from counterfeit.config import Config
from counterfeit.data.labels import NUM_CLASSES
from counterfeit.models.conditional import ConditionalDiscriminator, ConditionalGenerator
from counterfeit.models.dcgan import DCGANDiscriminator, DCGANGenerator, init_dcgan_normal
from counterfeit.models.mlp import INITS as MLP_INITS
from counterfeit.models.mlp import IMAGE_PIXELS, MLPDiscriminator, MLPGenerator
from counterfeit.models.selfcond import ClusterDiscriminator, ClusterGenerator
from counterfeit.models.spectral import apply_spectral_norm

INITS = {**MLP_INITS, "dcgan-normal": init_dcgan_normal}


def build_generator(config: Config) -> nn.Module:
    inputs = config.z_dim + (NUM_CLASSES if config.conditional else 0)  # a conditional G takes one-hot(y) too
    if config.clusters:  # z's last entry picks the cluster; the body reads the rest and its one-hot
        inputs = config.z_dim - 1 + config.clusters
    generator: nn.Module
    if config.model in ("dcgan", "cdcgan"):  # g_hidden: the channels at 7×7 and at 14×14
        generator = DCGANGenerator(inputs, config.g_hidden, config.g_output, config.channels)
    else:
        generator = MLPGenerator(inputs, config.g_hidden, config.activation, config.g_output, config.leaky_slope,
                                 config.channels)
    if config.conditional:
        generator = ConditionalGenerator(generator, config.z_dim)
    elif config.clusters:
        generator = ClusterGenerator(generator, config.z_dim, config.clusters, config.prior)
    INITS[config.init](generator)
    return generator


def build_discriminator(config: Config) -> nn.Module:
    discriminator: nn.Module
    mbstd_group = config.d_mbstd_group if config.d_mbstd else 0
    if config.model in ("dcgan", "cdcgan"):  # d_hidden: the channels at 14×14 and at 7×7
        discriminator = DCGANDiscriminator(config.d_hidden, config.leaky_slope, mbstd_group=mbstd_group,
                                           image_channels=config.channels)
    else:  # cmlp's D reads the label's one-hot beside the pixels
        inputs = IMAGE_PIXELS * config.channels + (NUM_CLASSES if config.conditional else 0)
        discriminator = MLPDiscriminator(config.d_hidden, config.activation, config.d_dropout,
                                         config.leaky_slope, inputs, mbstd_group)
    if config.conditional:
        conditioning = "projection" if config.model == "cdcgan" else "concatenation"
        discriminator = ConditionalDiscriminator(discriminator, conditioning,
                                                 NUM_CLASSES if config.aux_weight > 0 else 0)
    elif config.clusters:
        discriminator = ClusterDiscriminator(discriminator, config.clusters, IMAGE_PIXELS * config.channels)
    INITS[config.init](discriminator)
    if config.d_norm == "spectral":  # after the init, which writes the weights spectral norm reads
        apply_spectral_norm(discriminator)
    return discriminator


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
