"""Time every metric on 10,000 samples (features included; reference statistics cached).

    python scripts/bench_metrics.py [--n 10000] [--repeat 5]

What "all metrics" measures: from uint8 images in memory to every metric's value (evaluator
features, then each metric group), with the evaluator loaded and the reference statistics built
or read from the cache beforehand. Interpreter start and imports are not in the figure; the
import time is printed on its own line. Timings on shared cores are noisy: it repeats the whole
measurement and prints the best and the median, with the load average before and after.
"""

from __future__ import annotations

import time

_IMPORT_START = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from counterfeit.data import load_dataset  # noqa: E402
from counterfeit.metrics.evaluate import real_data  # noqa: E402
from counterfeit.metrics.evaluator import load_evaluator  # noqa: E402
from counterfeit.metrics.features import extract  # noqa: E402
from counterfeit.metrics.registry import METRICS, compute, keys_for  # noqa: E402

_IMPORT_SECONDS = time.perf_counter() - _IMPORT_START


def _load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5, help="whole measurements (default 5)")
    args = parser.parse_args()
    print(f"imports (torch, numpy, counterfeit): {_IMPORT_SECONDS:.2f} s, not in the figures below")
    load_before = _load()
    dataset, evaluator = load_dataset(None), load_evaluator()
    started = time.perf_counter()
    real = real_data(dataset, evaluator, args.n)
    print(f"reference: {real.n_reference} images, floor {real.n_floor}: "
          f"{time.perf_counter() - started:.2f} s (built or read from the cache)")
    rng = np.random.default_rng(0)
    images = dataset.images[rng.integers(0, len(dataset), args.n)]  # the images to judge
    started = time.perf_counter()
    sample = extract(evaluator, images)
    timings = {"features": time.perf_counter() - started}
    groups = {metric.computation.__name__.lstrip("_"): metric.computation  # each computation once, by name
              for metric in (METRICS[key] for key in keys_for(1))}
    for name, group in groups.items():
        started = time.perf_counter()
        group(sample, real.reference)
        timings[name] = time.perf_counter() - started
    totals = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        compute(extract(evaluator, images), real.reference)
        totals.append(time.perf_counter() - started)
    print(f"{args.n} samples, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs, load average (1/5/15 min) {load_before} before, {_load()} after")
    print("one pass by part: " + "  ".join(f"{k} {v:.2f}s" for k, v in timings.items()))
    print(f"all metrics, features included, {args.repeat} runs: best {min(totals):.2f} s, "
          f"median {statistics.median(totals):.2f} s")


if __name__ == "__main__":
    main()
