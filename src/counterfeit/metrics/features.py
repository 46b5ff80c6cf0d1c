"""Images -> what the metrics read: evaluator features and class probabilities, and raw pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from counterfeit.metrics.evaluator import Evaluator


@dataclass(frozen=True)
class FeatureSet:
    features: Tensor  # (N, 128) float32: the evaluator's penultimate layer
    probs: Tensor     # (N, 10) float32: its softmax
    pixels: Tensor    # (N, 784) float32 in [0, 1]: for nearest-training-image distances

    def __len__(self) -> int:
        return len(self.features)

    def head(self, n: int) -> "FeatureSet":
        return FeatureSet(self.features[:n], self.probs[:n], self.pixels[:n])


@torch.inference_mode()
def extract(evaluator: Evaluator, images: np.ndarray, batch_size: int = 1000) -> FeatureSet:
    """uint8 (N, 28, 28) -> FeatureSet, in batches, no grad, evaluator in eval mode."""
    pixels = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0)  # (N, 28, 28)
    features, probs = [], []
    for chunk in pixels.split(batch_size):
        feats = evaluator.features(chunk.unsqueeze(1))
        features.append(feats)
        probs.append(torch.softmax(evaluator.net.head(feats), dim=1))
    return FeatureSet(torch.cat(features), torch.cat(probs), pixels.reshape(len(pixels), -1))
