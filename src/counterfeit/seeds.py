"""Every random stream of a run, derived from its one `seed`: one table, so no two streams share one.

Each stream has its own generator seeded with seed + offset; parameter init and dropout use torch's
global RNG, seeded with the seed itself (rank r > 0 of a torchrun job adds r * RANK_STRIDE, so each
process draws its own dropout masks).
"""

from __future__ import annotations

from enum import IntEnum


class Stream(IntEnum):
    NOISE = 1  # z of every training step (and the gradient penalty's mixing weights)
    BATCHES = 2  # the order of the real batches
    SNAPSHOTS = 3  # the fixed noise of the sample grids and progress.gif
    WATCH = 4  # the fixed noise of the in-training evaluation
    VAE_NOISE = 5  # the VAE pre-training's reparameterisation noise
    VAE_GRID = 6  # the noise of vae_samples.png
    VAE_BATCHES = 7  # the order of the VAE pre-training's real batches
    AUGMENT = 8  # DiffAugment's shifts and cutout squares (config.augment)
    EMA_STATS = 9  # the fixed noise that recomputes the EMA generator's batch-norm statistics
    STACKED = 10  # which base digits fill each channel of stacked-mnist (data/stacked.py)
    STACKED_FLOOR = 11  # the fresh real stacked images of the mode metrics' floor
    CLUSTERS = 12  # the k-means++ seeds of a self-conditioned run's clusters (config.clusters)


RANK_STRIDE = 1_000_003  # a prime far beyond any offset above
MAX_RANKS = 1024  # the seed range leaves room for this many processes' global-RNG seeds
SEED_LIMIT = 2**32 - RANK_STRIDE * MAX_RANKS  # every derived seed stays below 2**32 (numpy's limit)


def stream_seed(seed: int, stream: Stream) -> int:
    return seed + int(stream)


def rank_seed(seed: int, rank: int) -> int:
    """The global RNG's seed on process `rank`: rank 0 keeps the run's own seed."""
    return seed + RANK_STRIDE * rank
