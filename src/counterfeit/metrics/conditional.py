"""Conditional evaluation with the shipped evaluator: does a conditional run draw the digit it is
asked for, and how real does each digit look?

`cond_accuracy`: the evaluator's predictions on `per_class` samples asked for each digit.
Per-class FID: evaluator features of the samples asked for d against the reference (training
split) images labelled d. Beside both, the real floor: the same numbers for the held-out real
images, by their true labels. Per-class FID takes as many samples of d as there are held-out
images of d, so a digit's FID and its floor share sample sizes (FID is biased by them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor, nn

from counterfeit.config import Config
from counterfeit.data.dataset import Dataset
from counterfeit.data.labels import NUM_CLASSES
from counterfeit.errors import UserError
from counterfeit.metrics.evaluator import Evaluator
from counterfeit.metrics.features import extract
from counterfeit.metrics.fid import fid
from counterfeit.metrics.split import split_indices
from counterfeit.sampling import draw_per_class

Distance = Callable[[Tensor, Tensor], float]  # e.g. FID between two feature sets

DEFAULT_PER_CLASS = 1000  # 10,000 samples: the measure of "drawn as asked"
# Real images per side of the split: enough for a stable per-digit covariance (128 features),
# few enough that full MNIST's split is featurised in seconds.
CLASS_REFERENCE_N = 10_000


def class_accuracy(predicted: np.ndarray, requested: np.ndarray) -> dict[str, Any]:
    """`cond_accuracy` overall, per requested digit, and its worst digit."""
    per_class = [float((predicted[requested == d] == d).mean()) for d in range(NUM_CLASSES)]
    return {"cond_accuracy": float((predicted == requested).mean()),
            "cond_accuracy_per_class": per_class,
            "cond_accuracy_min": min(per_class)}


def per_class_distance(sample_features: Tensor, sample_labels: np.ndarray, real_features: Tensor,
                       real_labels: np.ndarray, distance: Distance) -> list[float]:
    """distance(samples asked for d, real images of d) for each digit d (e.g. per-class FID)."""
    return [distance(sample_features[torch.from_numpy(sample_labels == d)],
                     real_features[torch.from_numpy(real_labels == d)]) for d in range(NUM_CLASSES)]


@dataclass(frozen=True)
class LabelledFeatures:
    features: Tensor      # (N, 128) evaluator features
    predicted: np.ndarray  # (N,) the evaluator's class
    labels: np.ndarray     # (N,) true (real images) or requested (samples) digits


def _featurise(evaluator: Evaluator, images: np.ndarray, labels: np.ndarray) -> LabelledFeatures:
    feature_set = extract(evaluator, images)
    return LabelledFeatures(feature_set.features, feature_set.probs.argmax(1).numpy(), labels)


def _first_of_each(labels: np.ndarray, counts: list[int]) -> np.ndarray:
    """Indices of the first counts[d] entries labelled d, for each digit d."""
    return np.concatenate([np.flatnonzero(labels == d)[: counts[d]] for d in range(NUM_CLASSES)])


def _scores(part: LabelledFeatures, reference: LabelledFeatures, counts: list[int]) -> dict[str, Any]:
    keep = _first_of_each(part.labels, counts)
    return {**class_accuracy(part.predicted, part.labels),
            "fid_per_class": per_class_distance(part.features[keep], part.labels[keep],
                                                reference.features, reference.labels, fid)}


def conditional_report(generator: nn.Module, config: Config, dataset: Dataset, evaluator: Evaluator,
                       per_class: int = DEFAULT_PER_CLASS, seed: int = 0) -> dict[str, Any]:
    """What `counterfeit eval` adds for a conditional run: the "conditional" entry of eval.json."""
    if dataset.labels is None:
        raise UserError(f"{dataset.source}: conditional evaluation compares each digit with real "
                        "images of that digit, and this data has no labels")
    if per_class < 2:
        raise UserError(f"--per-class {per_class}: per-class FID needs at least 2 samples of each digit")
    if int(dataset.labels.max()) + 1 < NUM_CLASSES:
        raise UserError(f"{dataset.source}: conditional evaluation asks for each of the {NUM_CLASSES} classes a "
                        f"conditional model draws, and this data has only {int(dataset.labels.max()) + 1}")
    split = split_indices(len(dataset))
    train, heldout = split.train[:CLASS_REFERENCE_N], split.heldout[:CLASS_REFERENCE_N]
    reference = _featurise(evaluator, dataset.images[train], dataset.labels[train])
    real = _featurise(evaluator, dataset.images[heldout], dataset.labels[heldout])
    held_counts = [int((real.labels == d).sum()) for d in range(NUM_CLASSES)]
    if min(held_counts) < 2 or min(int((reference.labels == d).sum()) for d in range(NUM_CLASSES)) < 2:
        raise UserError(f"{dataset.source}: per-class FID needs at least 2 real images of every digit "
                        "on each side of the split")
    counts = [min(per_class, c) for c in held_counts]
    images, requested = draw_per_class(generator, config, per_class, seed)
    samples = _featurise(evaluator, images, requested)
    return {"n_per_class": per_class, "seed": seed, "fid_n_per_class": counts,
            "fid_reference_per_class": [int((reference.labels == d).sum()) for d in range(NUM_CLASSES)],
            **_scores(samples, reference, counts), "floor": _scores(real, reference, counts)}


def conditional_table(entry: dict[str, Any]) -> list[str]:
    """The table's lines for the "conditional" entry: one column per digit."""
    floor = entry["floor"]
    rows = [("digit", *map(str, range(NUM_CLASSES))),
            ("accuracy %", *(f"{100 * v:.1f}" for v in entry["cond_accuracy_per_class"])),
            ("  real floor", *(f"{100 * v:.1f}" for v in floor["cond_accuracy_per_class"])),
            ("FID", *(f"{v:.3g}" for v in entry["fid_per_class"])),
            ("  real floor", *(f"{v:.3g}" for v in floor["fid_per_class"]))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    worst = int(np.argmin(entry["cond_accuracy_per_class"]))
    lines = [f"conditional: {entry['n_per_class']} samples asked for each digit (seed {entry['seed']}), "
             "read by the evaluator",
             f"cond_accuracy {100 * entry['cond_accuracy']:.2f}% (worst digit {worst}: "
             f"{100 * entry['cond_accuracy_min']:.1f}%); real floor {100 * floor['cond_accuracy']:.2f}% "
             f"(worst {100 * floor['cond_accuracy_min']:.1f}%)"]
    lines += ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths))) for row in rows]
    lines.append(f"per-class FID: {min(entry['fid_n_per_class'])}-{max(entry['fid_n_per_class'])} samples "
                 "of each digit (at most as many as its held-out real images) against the reference images of that digit")
    return lines
