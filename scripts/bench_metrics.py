"""Time every metric on 10,000 samples (features included; reference statistics cached).

    python scripts/bench_metrics.py [--n 10000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from counterfeit.data import load_dataset
from counterfeit.metrics.evaluate import real_data
from counterfeit.metrics.evaluator import load_evaluator
from counterfeit.metrics.features import extract
from counterfeit.metrics.registry import GROUPS, compute


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    dataset, evaluator = load_dataset(None), load_evaluator()
    started = time.perf_counter()
    real = real_data(dataset, evaluator, args.n)
    print(f"reference: {real.n_reference} images, floor {real.n_floor}: "
          f"{time.perf_counter() - started:.2f} s (built or read from the cache)")
    rng = np.random.default_rng(0)
    images = dataset.images[rng.integers(0, len(dataset), args.n)]  # 10,000 images to judge
    started = time.perf_counter()
    sample = extract(evaluator, images)
    timings = {"features": time.perf_counter() - started}
    for name, group in GROUPS.items():
        started = time.perf_counter()
        group(sample, real.reference)
        timings[name] = time.perf_counter() - started
    started = time.perf_counter()
    compute(extract(evaluator, images), real.reference)
    total = time.perf_counter() - started
    print(f"{args.n} samples, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("  ".join(f"{k} {v:.2f}s" for k, v in timings.items()))
    print(f"all metrics, features included: {total:.2f} s")


if __name__ == "__main__":
    main()
