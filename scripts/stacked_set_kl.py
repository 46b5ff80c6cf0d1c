"""What a perfect copy of a Stacked MNIST training set would score: the floor under a run's mode_kl.

    python scripts/stacked_set_kl.py [--sizes 20000 128000] [--seeds 0 1 2] [--n 26000]

A G that learnt its training set exactly would draw that set's mode histogram, which is not flat:
a finite set of 1,000 modes has its own KL to uniform. For each training-set size and run seed,
this prints the mode KL of the set itself (as the evaluator reads it), and of n images resampled
from it with replacement, as `counterfeit eval` would judge n samples of that perfect G; then the
floor `eval` shows beside a run (n fresh real stacked images).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from counterfeit.data import load_dataset
from counterfeit.data.embedded import load_embedded
from counterfeit.data.stacked import STACKED, stacked_mnist
from counterfeit.metrics.evaluator_store import require_evaluator
from counterfeit.metrics.features import extract
from counterfeit.metrics.modes import mode_kl, modes_of
from counterfeit.seeds import Stream, stream_seed

RESAMPLES = 3  # draws of n from each set: their spread shows the sampling noise of n


def read_modes(evaluator, images: np.ndarray) -> torch.Tensor:
    """(N,) the mode of each (N, 3, 28, 28) image: the evaluator's digit in each channel."""
    return modes_of(extract(evaluator, images).probs.argmax(1).view(-1, 3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 128_000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n", type=int, default=26_000)
    args = parser.parse_args()
    if min(args.sizes) < 1 or args.n < 1:  # load_dataset's own refusal would be a traceback here
        parser.error("--sizes and --n must be positive")
    evaluator = require_evaluator(load_embedded(), "counterfeit evaluator train")
    print(f"| training images | run seed | set's own KL | {args.n:,} resampled from it (KL, {RESAMPLES} draws) |")
    print("| --- | --- | --- | --- |")
    for size in args.sizes:
        for seed in args.seeds:
            modes = read_modes(evaluator, load_dataset(STACKED, seed=seed, stacked_size=size).images)
            rng = np.random.default_rng(seed)
            draws = [mode_kl(modes[torch.from_numpy(rng.integers(0, len(modes), args.n))], 1000)
                     for _ in range(RESAMPLES)]
            print(f"| {size:,} | {seed} | {mode_kl(modes, 1000):.4f} | {', '.join(f'{d:.4f}' for d in draws)} |")
    fresh = read_modes(evaluator, stacked_mnist(stream_seed(0, Stream.STACKED_FLOOR), args.n).images)
    print(f"\nfloor (eval --real): {args.n:,} fresh real stacked images, KL {mode_kl(fresh, 1000):.4f}")


if __name__ == "__main__":
    main()
