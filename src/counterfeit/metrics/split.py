"""The fixed real-data split every evaluation uses: reference (training) images and held-out ones.

One seeded permutation of the dataset; the last fifth is held out. On the embedded 10,000 digits
this is the evaluator's own split (8,000 train / 2,000 held out), so held-out images are unseen by
the evaluator too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

SPLIT_SEED = 20_240_604
HELDOUT_FRACTION = 0.2
SPLIT_METHOD = (f"numpy.random.default_rng({SPLIT_SEED}).permutation(N); "
                f"the last {HELDOUT_FRACTION:.0%} (rounded down) held out")


@dataclass(frozen=True)
class Split:
    train: np.ndarray  # int64 indices, in permuted order (so a prefix is a random subset)
    heldout: np.ndarray

    def digest(self) -> str:
        """sha256 of both index lists: identifies the split in the evaluator's record."""
        digest = hashlib.sha256(self.train.astype("<i8").tobytes())
        digest.update(self.heldout.astype("<i8").tobytes())
        return digest.hexdigest()


def split_indices(num_images: int) -> Split:
    order = np.random.default_rng(SPLIT_SEED).permutation(num_images).astype(np.int64)
    num_heldout = int(num_images * HELDOUT_FRACTION)
    return Split(train=order[: num_images - num_heldout], heldout=order[num_images - num_heldout:])
