from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from counterfeit.metrics.conditional import class_accuracy, per_class_distance
from counterfeit.sampling import draw_per_class, load_generator
from counterfeit.sampling.labels import per_class_labels


def test_class_accuracy_per_requested_digit() -> None:
    requested = per_class_labels(4).numpy()  # 0000 1111 ... 9999
    predicted = requested.copy()
    predicted[[0, 1]] = 5  # two of the four zeros read as fives
    result = class_accuracy(predicted, requested)
    assert result["cond_accuracy"] == 38 / 40
    assert result["cond_accuracy_per_class"][0] == 0.5 and result["cond_accuracy_per_class"][5] == 1.0
    assert result["cond_accuracy_min"] == 0.5


def test_per_class_distance_compares_like_with_like() -> None:
    labels = per_class_labels(3).numpy()
    features = torch.from_numpy(labels).float().unsqueeze(1)  # feature = the label itself
    shifted = features + torch.from_numpy((labels == 2) * 1.0).float().unsqueeze(1)  # digit 2 moved by 1
    mean_gap = lambda a, b: float((a.mean(0) - b.mean(0)).abs().sum())  # noqa: E731
    assert per_class_distance(shifted, labels, features, labels, mean_gap) == [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]


def test_draw_per_class_asks_for_every_digit(tiny_cgan_run: Path) -> None:
    generator, config = load_generator(tiny_cgan_run)
    images, requested = draw_per_class(generator, config, per_class=5)
    assert images.shape == (50, 28, 28) and images.dtype == np.uint8
    assert requested.tolist() == [d for d in range(10) for _ in range(5)]
    predicted = np.full(len(images), 3)  # a stand-in evaluator: "every image is a 3"
    result = class_accuracy(predicted, requested)
    assert result["cond_accuracy"] == 0.1 and result["cond_accuracy_per_class"][3] == 1.0
    assert result["cond_accuracy_min"] == 0.0
