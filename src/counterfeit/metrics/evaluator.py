"""The judge: a small MNIST CNN whose penultimate layer gives the features behind FID & co.

Inception features are a poor fit for 28x28 digits and need downloaded weights; the MNIST practice
(TF-GAN's mnist_score / mnist_frechet_distance) is a frozen MNIST classifier. Its weights ship with
the package and are checked against EVALUATOR_SHA256 at every load.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as safetensors_load
from torch import Tensor, nn

from counterfeit.errors import UserError

WEIGHTS_FILE = "evaluator.safetensors"
RECORD_FILE = "evaluator.json"
# sha256 of the shipped weights, written by `counterfeit evaluator train`; a mismatch means the
# file was damaged or swapped, and every metric would silently change meaning.
EVALUATOR_SHA256 = "64abebc18f1bee8aa93638274ef73b91b98724b2ca52ebf9600ccc18d46ac582"
FEATURE_DIM = 128
NUM_CLASSES = 10
# MNIST pixel mean and std: inputs are standardised inside the net, which takes [0, 1] pixels.
PIXEL_MEAN, PIXEL_STD = 0.1307, 0.3081


def _conv(c_in: int, c_out: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU())


class EvaluatorNet(nn.Module):
    """A full-resolution first layer, two strided conv blocks, a 128-d feature layer and a
    10-way linear classifier. Strided convolutions after the first layer, not conv + pool at
    full resolution: ~5x fewer multiply-adds, so 10,000 images take about a second on 2 cores."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(1, 32, 5, 1), nn.MaxPool2d(2),  # (B, 32, 14, 14)
            _conv(32, 32, 3, 2),                  # (B, 32, 7, 7)
            _conv(32, 64, 3, 2),                  # (B, 64, 4, 4)
            nn.Flatten(),                         # (B, 1024)
            nn.Dropout(0.2),
            nn.Linear(64 * 4 * 4, FEATURE_DIM), nn.ReLU(),  # (B, 128): the features
        )
        self.head = nn.Linear(FEATURE_DIM, NUM_CLASSES)  # (B, 10) logits

    def features(self, pixels: Tensor) -> Tensor:
        """(B, 1, 28, 28) pixels in [0, 1] -> (B, 128) penultimate-layer features."""
        # channels_last: the layout oneDNN's CPU convolutions are fastest in (2-5x here).
        standardised = ((pixels - PIXEL_MEAN) / PIXEL_STD).contiguous(memory_format=torch.channels_last)
        return self.body(standardised)

    def forward(self, pixels: Tensor) -> Tensor:
        return self.head(self.features(pixels))


@dataclass(frozen=True)
class Evaluator:
    net: EvaluatorNet  # eval mode
    sha256: str


def weights_path() -> Path:
    return Path(str(files("counterfeit.metrics") / WEIGHTS_FILE))


def load_evaluator(path: str | Path | None = None) -> Evaluator:
    """The shipped evaluator (or the file at `path`), after checking its sha256 against the code's."""
    return _load(Path(path) if path is not None else weights_path())


@functools.cache
def _load(path: Path) -> Evaluator:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UserError(f"{path}: cannot read evaluator weights ({err.strerror or err}); "
                        "run `counterfeit evaluator train`") from None
    sha256 = hashlib.sha256(data).hexdigest()
    if sha256 != EVALUATOR_SHA256:
        raise UserError(f"{path}: evaluator weights have sha256 {sha256[:16]}..., expected "
                        f"{EVALUATOR_SHA256[:16]}...; the file is damaged or not the shipped one")
    net = EvaluatorNet().to(memory_format=torch.channels_last)
    try:
        net.load_state_dict(safetensors_load(data))
    except (SafetensorError, RuntimeError) as err:
        raise UserError(f"{path}: cannot load evaluator weights ({str(err).splitlines()[0]})") from None
    return Evaluator(net.eval(), sha256)


def read_record(path: str | Path | None = None) -> dict[str, Any]:
    """The JSON written beside the weights: accuracy, split, command, sha256."""
    record = Path(path) if path is not None else weights_path().with_name(RECORD_FILE)
    try:
        return json.loads(record.read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise UserError(f"{record}: cannot read the evaluator record ({err})") from None
