"""The mode count of Stacked MNIST (Metz et al. 2017; VEEGAN, PacGAN): the evaluator reads each
channel as a digit, so an image's mode is its three digits (c0, c1, c2), one of 1,000.

`modes_covered`: how many of the 1,000 modes occur among the samples; `mode_kl`: KL(histogram ||
uniform), in nats. A perfectly uniform generator's empirical histogram of N samples is not flat:
its KL is about (K - 1) / (2 N) (0.019 for 26,000 samples), which the real-data floor shows.

Two per-channel readings say why a mode KL is high: `channel_kl`, the KL of each channel's digit
shares to uniform summed over the channels (a G whose channels draw too few 1s scores here, even if
every mode occurs), and `unclear_reads`, the share of channels the evaluator reads with confidence
under 0.9 (ambiguous strokes, which it reads as some digits more than others).
"""

from __future__ import annotations

import torch
from torch import Tensor

DIGITS = 10  # the evaluator's classes, per channel


def modes_of(channel_classes: Tensor) -> Tensor:
    """(N, C) digit read in each channel -> (N,) mode index sum_c digit_c * 10^(C - 1 - c)."""
    weights = DIGITS ** torch.arange(channel_classes.shape[1] - 1, -1, -1)  # (C,): 100, 10, 1
    return (channel_classes.long() * weights).sum(1)


def mode_histogram(modes: Tensor, num_modes: int) -> Tensor:
    """(N,) mode indices -> (num_modes,) counts."""
    return torch.bincount(modes.long(), minlength=num_modes)


def modes_covered(modes: Tensor, num_modes: int) -> int:
    return int((mode_histogram(modes, num_modes) > 0).sum())


def mode_kl(modes: Tensor, num_modes: int) -> float:
    """KL(p || uniform) = sum_k p_k log(p_k K) over the modes with p_k > 0 (0 log 0 = 0)."""
    counts = mode_histogram(modes, num_modes).double()
    p = counts[counts > 0] / counts.sum()
    return float((p * (p * num_modes).log()).sum())


def channel_kl(channel_classes: Tensor) -> float:
    """(N, C) digit read in each channel -> sum over channels of KL(digit shares || uniform), in nats.
    Independent channels' mode KL is about this sum plus the histogram's own sampling term."""
    return sum(mode_kl(channel, DIGITS) for channel in channel_classes.long().T)


UNCLEAR_BELOW = 0.9  # the evaluator's top-class probability under which a read counts as unclear


def unclear_reads(probs: Tensor) -> float:
    """(N*C, 10) evaluator probabilities per channel -> share of reads whose top class is < 0.9."""
    return float((probs.max(1).values < UNCLEAR_BELOW).double().mean())
