"""The evaluation ladder: sets of images of known, decreasing quality, judged by every metric.

    python scripts/eval_ladder.py RUN_2K RUN_20K [--n 1000]     (prints a Markdown table)

RUN_2K / RUN_20K: mlp2 run directories after 2,000 and 20,000 steps (`counterfeit train
--preset mlp2 --steps 2000`). Real sets are embedded digits the reference never contains:
held-out images (clean, with Gaussian noise, blurred), and one digit class only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from counterfeit.data import load_dataset
from counterfeit.errors import UserError
from counterfeit.metrics.evaluate import evaluate_images
from counterfeit.metrics.registry import METRICS
from counterfeit.metrics.split import split_indices
from counterfeit.sampling import generate, load_generator

COLUMNS = ("fid", "kid", "precision", "recall", "density", "coverage", "classes_covered",
           "class_kl", "classifier_score", "memorisation", "diversity")


def noisy(images: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pixels = images / 255.0 + rng.normal(0.0, sigma, images.shape)
    return np.rint(np.clip(pixels, 0, 1) * 255).astype(np.uint8)


def blurred(images: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    x = torch.arange(-3, 4, dtype=torch.float32)
    kernel = torch.exp(-x ** 2 / (2 * sigma ** 2))
    kernel = (kernel[:, None] * kernel[None, :] / kernel.sum() ** 2)[None, None]  # (1, 1, 7, 7)
    out = F.conv2d(torch.from_numpy(images).float()[:, None], kernel, padding=3)[:, 0]
    return out.round().clamp(0, 255).to(torch.uint8).numpy()


def ladder(run_2k: Path, run_20k: Path, n: int) -> list[tuple[str, dict[str, float]]]:
    dataset = load_dataset(None)
    assert dataset.labels is not None
    split = split_indices(len(dataset))
    heldout = dataset.images[split.heldout[:n]]
    outside_reference = np.setdiff1d(np.arange(len(dataset)), split.train[:n])
    ones = outside_reference[dataset.labels[outside_reference] == 1][:n]
    sets = [("held-out real", heldout),
            ("real + noise σ=0.1", noisy(heldout, 0.1, seed=1)),
            ("real + noise σ=0.3", noisy(heldout, 0.3, seed=2)),
            ("blurred real (Gaussian σ=1 px)", blurred(heldout)),
            (f"one class only (digit 1, {len(ones)} images)", dataset.images[ones])]
    for name, run in (("mlp2 after 2,000 steps", run_2k), ("mlp2 after 20,000 steps", run_20k)):
        generator, config = load_generator(run)
        sets.append((name, generate(generator, config, n, seed=0)))
    return [(name, evaluate_images(images, name, dataset, n).metrics) for name, images in sets]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_2k", type=Path)
    parser.add_argument("run_20k", type=Path)
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    try:
        rows = ladder(args.run_2k, args.run_20k, args.n)
    except UserError as err:  # a run or data that will not do: one line, as the CLI says it
        raise SystemExit(f"eval_ladder.py: error: {err}") from None
    print(f"n = {args.n} images per set (one class: as noted), against {args.n} reference images")
    print("| set | " + " | ".join(COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    for name, metrics in rows:
        cells = [f"{metrics[k]:d}" if isinstance(metrics[k], int) else f"{metrics[k]:.4g}" for k in COLUMNS]
        print(f"| {name} | " + " | ".join(cells) + " |")
    order = [name for name, m in sorted(rows, key=lambda r: r[1]["fid"])]
    print("\nFID order (best first): " + " < ".join(order))
    print("better: " + "; ".join(f"{k} {METRICS[k].label_for('MNIST', 10)[1]}" for k in COLUMNS))


if __name__ == "__main__":
    main()
