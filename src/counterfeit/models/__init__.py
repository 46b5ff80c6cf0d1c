"""Generators G(z) -> images (B, C, 28, 28) (C = the `channels` key) and discriminators D(x) -> logits (B,)."""

from counterfeit.models.build import build_discriminator, build_generator, count_parameters
from counterfeit.models.dcgan import DCGANDiscriminator, DCGANGenerator
from counterfeit.models.mlp import MLPDiscriminator, MLPGenerator

__all__ = [
    "DCGANDiscriminator", "DCGANGenerator", "MLPDiscriminator", "MLPGenerator", "build_discriminator",
    "build_generator", "count_parameters",
]
