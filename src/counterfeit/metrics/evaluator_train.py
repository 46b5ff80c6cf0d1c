"""`counterfeit evaluator train [--data ...]`: fit the evaluator on the fixed split of a dataset
(default: the embedded digits, whose evaluator ships with the package).

Deterministic (seeded data order and augmentation, deterministic kernels), so the repo command
rebuilds the shipped weights; bit-identical bytes need the same torch build and thread count.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from safetensors.torch import save as safetensors_bytes
from torch import Tensor

from counterfeit.data.dataset import Dataset
from counterfeit.data.embedded import load_embedded
from counterfeit.data.labels import LABEL_SOURCES
from counterfeit.errors import DataError, UserError
from counterfeit.fileio import atomic_write_bytes, atomic_write_text
from counterfeit.metrics.evaluator import NUM_CLASSES, RECORD_FILE, WEIGHTS_FILE, EvaluatorNet
from counterfeit.metrics.split import SPLIT_METHOD, split_indices


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 12
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    max_rotation_deg: float = 10.0
    max_shift_px: float = 2.0
    scale_range: float = 0.08  # zoom in [1 - r, 1 + r]
    label_smoothing: float = 0.05
    seed: int = 0


def augment(pixels: Tensor, settings: TrainSettings, rng: torch.Generator) -> Tensor:
    """Small random rotations, zooms and shifts: the evaluator must not be fooled by placement."""
    n = pixels.shape[0]
    angle = (torch.rand(n, generator=rng) * 2 - 1) * math.radians(settings.max_rotation_deg)
    scale = 1 + (torch.rand(n, generator=rng) * 2 - 1) * settings.scale_range
    shift = (torch.rand(n, 2, generator=rng) * 2 - 1) * (2 * settings.max_shift_px / 28)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)  # (n, 2, 3)
    grid = F.affine_grid(theta, list(pixels.shape), align_corners=False)
    return F.grid_sample(pixels, grid, padding_mode="zeros", align_corners=False)


@torch.no_grad()
def accuracy(net: EvaluatorNet, pixels: Tensor, labels: Tensor) -> float:
    net.eval()
    predictions = torch.cat([net(chunk).argmax(1) for chunk in pixels.split(1000)])
    return (predictions == labels).float().mean().item()


def num_classes(dataset: Dataset) -> int:
    """The classes the evaluator learns: the data's class names, else labels 0..max."""
    if dataset.channels != 1:  # stacked-mnist: the MNIST evaluator reads each channel as a digit
        raise DataError(f"{dataset.source}: the evaluator reads grey images; {dataset.channels}-channel data "
                        "is judged channel by channel by the MNIST one (`counterfeit evaluator train`)")
    if dataset.labels is None:
        raise DataError(f"{dataset.source}: has no labels, and the evaluator is a classifier "
                        f"(use {LABEL_SOURCES})")
    count = len(dataset.classes) if dataset.classes else int(dataset.labels.max()) + 1
    if count > max(len(dataset.labels), NUM_CLASSES):  # one output each: a label of 10^9 asked for 512 GB
        raise DataError(f"{dataset.source}: a label of {count - 1} for {len(dataset.labels)} images; labels are "
                        "class indices 0, 1, ..., and the evaluator cannot learn more classes than images")
    if count < 2:
        raise DataError(f"{dataset.source}: has a single class; the evaluator needs at least two to learn features")
    return count


def train_evaluator(out_dir: Path, settings: TrainSettings = TrainSettings(),
                    log: Callable[[str], None] = print, dataset: Dataset | None = None,
                    label: str = "MNIST", command: str = "counterfeit evaluator train") -> dict:
    """Train on `dataset` (default: the embedded digits), then write the weights and their JSON
    record into `out_dir`; returns the record. `label` names the data in metric names."""
    if dataset is not None:
        num_classes(dataset)  # data it cannot learn from fails before anything is written
    try:
        out_dir.mkdir(parents=True, exist_ok=True)  # first: a bad directory must not cost minutes of training
    except OSError as err:
        raise UserError(f"{out_dir}: cannot create directory ({err.strerror})") from None
    dataset = dataset or load_embedded()
    torch.manual_seed(settings.seed)
    torch.use_deterministic_algorithms(True)
    split = split_indices(len(dataset))
    pixels = torch.from_numpy(dataset.images).float().div(255).unsqueeze(1)  # (N, 1, 28, 28)
    labels = torch.from_numpy(dataset.labels)
    train_x, train_y = pixels[split.train], labels[split.train]
    heldout_x, heldout_y = pixels[split.heldout], labels[split.heldout]

    net = EvaluatorNet(num_classes(dataset)).to(memory_format=torch.channels_last)
    steps_per_epoch = math.ceil(len(train_x) / settings.batch_size)
    optimizer = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, settings.lr,
                                                   total_steps=settings.epochs * steps_per_epoch)
    rng = torch.Generator().manual_seed(settings.seed)
    started = time.perf_counter()
    for epoch in range(1, settings.epochs + 1):
        net.train()
        for batch in torch.randperm(len(train_x), generator=rng).split(settings.batch_size):
            loss = F.cross_entropy(net(augment(train_x[batch], settings, rng)), train_y[batch],
                                   label_smoothing=settings.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        log(f"epoch {epoch:>2}/{settings.epochs}  loss {loss.item():.4f}  "
            f"held-out accuracy {accuracy(net, heldout_x, heldout_y):.4f}  "
            f"{time.perf_counter() - started:.0f}s")
    seconds = time.perf_counter() - started

    weights = safetensors_bytes({k: v.contiguous() for k, v in net.state_dict().items()})
    record = {
        "heldout_accuracy": round(accuracy(net, heldout_x, heldout_y), 5),
        "train_accuracy": round(accuracy(net, train_x, train_y), 5),
        "name": label,
        "dataset": dataset.name,
        "data": dataset.source,
        "data_fingerprint": dataset.fingerprint,
        "num_classes": num_classes(dataset),
        "classes": list(dataset.classes) if dataset.classes else None,
        "split": {"method": SPLIT_METHOD, "train": len(split.train), "heldout": len(split.heldout),
                  "indices_sha256": split.digest()},
        "command": command,
        "settings": asdict(settings),
        "train_seconds": round(seconds, 1),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "sha256": hashlib.sha256(weights).hexdigest(),
    }
    atomic_write_bytes(out_dir / WEIGHTS_FILE, weights)
    atomic_write_text(out_dir / RECORD_FILE, json.dumps(record, indent=2) + "\n")
    return record
