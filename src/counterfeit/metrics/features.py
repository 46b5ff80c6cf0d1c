"""Images -> what the metrics read: evaluator features and class probabilities, and raw pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from counterfeit.metrics.evaluator import Evaluator


@dataclass(frozen=True)
class FeatureSet:
    """Rows are grey images; a C-channel image is C rows in a row (image 0's channels first), each
    channel judged as a digit of its own."""

    features: Tensor  # (N C, 128) float32: the evaluator's penultimate layer
    probs: Tensor     # (N C, 10) float32: its softmax
    pixels: Tensor    # (N C, 784) float32 in [0, 1]: for nearest-training-image distances
    channels: int = 1  # C

    def __len__(self) -> int:
        """N: images, not channels."""
        return len(self.features) // self.channels

    def head(self, n: int) -> "FeatureSet":
        rows = n * self.channels
        return FeatureSet(self.features[:rows], self.probs[:rows], self.pixels[:rows], self.channels)


@torch.inference_mode()
def extract(evaluator: Evaluator, images: np.ndarray, batch_size: int = 1000) -> FeatureSet:
    """uint8 (N, 28, 28) or (N, C, 28, 28) -> FeatureSet, in batches, no grad, evaluator in eval mode."""
    channels = 1 if images.ndim == 3 else images.shape[1]
    pixels = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0).reshape(-1, 28, 28)  # (N C, 28, 28)
    features, probs = [], []
    for chunk in pixels.split(batch_size):
        feats = evaluator.features(chunk.unsqueeze(1))
        features.append(feats)
        probs.append(torch.softmax(evaluator.net.head(feats), dim=1))
    return FeatureSet(torch.cat(features), torch.cat(probs), pixels.reshape(len(pixels), -1), channels)
