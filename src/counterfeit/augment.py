"""Differentiable augmentation of the images D sees (DiffAugment, Zhao et al. 2020): images in,
images out, built from indexing and masking so gradients flow through to G.

Each augmentation is two halves: `draw` takes its random parameters for n images from a generator,
`apply` uses them. Keeping them apart lets the trainer draw for a whole global batch and keep this
process's rows (as it does with the noise), and lets tests apply hand-chosen parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

Draw = Callable[[int, int, torch.Generator, torch.device], Tensor]  # (n, side, rng, device) -> (n, k)
Apply = Callable[[Tensor, Tensor], Tensor]  # (images (B, C, H, W), params (B, k)) -> images


def max_shift(side: int) -> int:
    """Translation moves an image by at most 1/8 of its side: 3 pixels on 28."""
    return side // 8


def cutout_size(side: int) -> int:
    """Cutout blanks a square of half the image side: 14 x 14 on 28."""
    return side // 2


def draw_shifts(n: int, side: int, rng: torch.Generator, device: torch.device) -> Tensor:
    """(n, 2) int64 (dy, dx), each uniform on [-max_shift, max_shift]."""
    s = max_shift(side)
    return torch.randint(-s, s + 1, (n, 2), generator=rng, device=device)


def translate(images: Tensor, shifts: Tensor) -> Tensor:
    """out[i, :, y, x] = images[i, :, y - dy_i, x - dx_i], zero where that falls outside: a pixel
    moves down dy_i and right dx_i; |dy_i|, |dx_i| <= max_shift(H). Reads from a zero-padded copy
    by index, so it is differentiable."""
    b, _, h, w = images.shape
    s = max_shift(h)  # from the size, not the shifts: reading their max would sync a GPU every step
    padded = F.pad(images, (s, s, s, s))  # (B, C, H + 2s, W + 2s)
    rows = torch.arange(h, device=images.device) + s - shifts[:, :1]  # (B, H): padded row of each output row
    cols = torch.arange(w, device=images.device) + s - shifts[:, 1:]  # (B, W)
    batch = torch.arange(b, device=images.device)[:, None, None]
    # Advanced indices on dims 0, 2, 3 with a slice between them put the channels last: (B, H, W, C).
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def draw_corners(n: int, side: int, rng: torch.Generator, device: torch.device) -> Tensor:
    """(n, 2) int64 (top, left) of a cutout square that lies wholly inside the image."""
    return torch.randint(0, side - cutout_size(side) + 1, (n, 2), generator=rng, device=device)


def cut_out(images: Tensor, corners: Tensor) -> Tensor:
    """Zero a cutout_size square with its top-left corner at corners[i] in image i (a multiplying
    mask: the gradient is zero inside the square and passes unchanged outside)."""
    _, _, h, w = images.shape
    size = cutout_size(h)
    y = torch.arange(h, device=images.device)[None, :, None] - corners[:, 0, None, None]  # (B, H, 1)
    x = torch.arange(w, device=images.device)[None, None, :] - corners[:, 1, None, None]  # (B, 1, W)
    inside = (y >= 0) & (y < size) & (x >= 0) & (x < size)  # (B, H, W)
    return images * (~inside).to(images.dtype)[:, None]  # (B, C, H, W)


@dataclass(frozen=True)
class Augmentation:
    draw: Draw
    apply: Apply


# By name, as config.augment lists them (config.AUGMENT_NAMES: a test checks they agree).
AUGMENTATIONS: dict[str, Augmentation] = {
    "translation": Augmentation(draw_shifts, translate),
    "cutout": Augmentation(draw_corners, cut_out),
}


def augment(images: Tensor, names: tuple[str, ...], rng: torch.Generator, rows: int | None = None,
            keep: Callable[[Tensor], Tensor] = lambda params: params) -> Tensor:
    """Each named augmentation in turn, with parameters drawn from `rng`. `rows` (default: the
    batch's) is how many images to draw for and `keep` picks this batch's rows of the draw, so a
    process of a torchrun job can draw for the global batch and keep its own shard."""
    for name in names:
        op = AUGMENTATIONS[name]
        params = keep(op.draw(rows or images.shape[0], images.shape[-1], rng, images.device))
        images = op.apply(images, params)
    return images
