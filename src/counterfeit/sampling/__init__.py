"""Drawing images from a trained G: load it, generate, grids, latent walks.

    >>> generator, config = load_generator("runs/mlp2-...")
    >>> images = generate(generator, config, n=64, seed=0)   # uint8 (64, 28, 28)
"""

from counterfeit.sampling.samples import Samples, draw, save_samples
from counterfeit.sampling.images import class_grid, draw_per_class, generate, render
from counterfeit.sampling.load import load_generator

__all__ = ["Samples", "class_grid", "draw", "draw_per_class", "generate", "load_generator", "render",
           "save_samples"]
