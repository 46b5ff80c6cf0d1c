"""Stacked MNIST (Metz et al. 2017; the mode-count benchmark of VEEGAN and PacGAN): 3-channel
28x28 images whose channels are three digits drawn independently from the embedded MNIST, so the
data has 10 x 10 x 10 = 1,000 modes. An image's label is its mode, 100 * c0 + 10 * c1 + c2.

The images are drawn from a seeded stream of the run (seeds.py `Stream.STACKED`), so one seed
always gives the same images, and nothing is stored on disk.
"""

from __future__ import annotations

import numpy as np

from counterfeit.data.dataset import Dataset
from counterfeit.data.embedded import load_embedded

STACKED = "stacked-mnist"
CHANNELS = 3
NUM_MODES = 10**CHANNELS
# The training set of PacGAN's Stacked MNIST (Lin et al. 2018, Table 2: 128,000 images, judged on
# 26,000 samples). Its size matters to mode_kl: a finite set's own mode histogram is not flat, and a
# G that learnt the set perfectly would inherit that. At 20,000 images (this module's first size)
# the set itself, resampled to 26,000 and read by the evaluator, scores KL 0.050-0.058 against
# the fresh-data floor's 0.027; at 128,000, 0.027-0.032 (scripts/stacked_set_kl.py, seeds 0-2). The cost is memory: 301 MB as
# uint8, 1.2 GB as the float32 batch pool (config.stacked_size sets it).
STACKED_SIZE = 128_000
MODE_WEIGHTS = np.array([100, 10, 1], np.int64)  # channel c's digit is mode // 10^(2 - c) % 10


def stack_digits(base: Dataset, n: int, seed: int) -> Dataset:
    """n images (N, 3, 28, 28), channel c of image i being base image picks[i, c]; labels their modes."""
    assert base.labels is not None and base.channels == 1
    picks = np.random.default_rng(seed).integers(0, len(base), size=(n, CHANNELS))  # (n, 3) base indices
    images = base.images[picks]  # (n, 3, 28, 28)
    modes = base.labels[picks] @ MODE_WEIGHTS  # (n,)
    source = f"stacked MNIST ({n:,} images of 3 digits from the embedded set, seed {seed})"
    return Dataset(images, modes, source, STACKED)


def stacked_mnist(seed: int, n: int = STACKED_SIZE) -> Dataset:
    """The stacked-mnist of a run whose STACKED stream is seeded `seed`."""
    return stack_digits(load_embedded(), n, seed)
