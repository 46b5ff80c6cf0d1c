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
# Twice the embedded set: 20 images per mode on average, so every mode is present (a mode is absent
# with probability about e^-20), and each base digit appears about 6 times over the channels. More
# would only repeat base digits, and cost memory (47 MB as uint8, 188 MB as the float32 batch pool).
STACKED_SIZE = 20_000
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
