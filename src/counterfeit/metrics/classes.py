"""Metrics of the evaluator's class predictions: quality and spread over the classes (digits for MNIST)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

# A class counts as covered if it gets at least a fifth of a uniform share of the predictions:
# a few misclassified samples of one digit must not count as generating another.
COVERED_SHARE_OF_UNIFORM = 0.2
_EPS = 1e-6


def class_histogram(probs: Tensor) -> Tensor:
    """(K,) share of samples predicted as each class (argmax)."""
    return torch.bincount(probs.argmax(dim=1), minlength=probs.shape[1]).double() / len(probs)


def classifier_score(probs: Tensor) -> float:
    """exp E_x KL(p(y|x) || p(y)) (Salimans et al. 2016, on the evaluator's classifier as TF-GAN's
    mnist_score is on an MNIST one): high when each sample is one confident class and all classes
    appear; at most the number of classes."""
    p = probs.double().clamp_min(_EPS)
    marginal = p.mean(dim=0, keepdim=True)
    return math.exp(float((p * (p.log() - marginal.log())).sum(dim=1).mean()))


def classes_covered(probs: Tensor) -> int:
    share = class_histogram(probs)
    return int((share >= COVERED_SHARE_OF_UNIFORM / len(share)).sum())


def class_kl(probs: Tensor, reference_hist: Tensor) -> float:
    """KL(reference || samples) of the predicted-class histograms: a missing digit costs a lot."""
    sample_hist = class_histogram(probs) + _EPS
    reference = reference_hist.double() + _EPS
    sample_hist, reference = sample_hist / sample_hist.sum(), reference / reference.sum()
    return float((reference * (reference.log() - sample_hist.log())).sum())
