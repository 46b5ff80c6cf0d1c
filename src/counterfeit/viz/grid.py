"""Sample grids as PNG images."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image
import torch
from torch import Tensor

from counterfeit.fileio import atomic_write_bytes


def to_uint8(images: Tensor, pixel_range: tuple[float, float]) -> np.ndarray:
    """Generator output (N, C, 28, 28) in `pixel_range` -> uint8 (N, 28, 28) for C = 1, else (N, C, 28, 28)."""
    low, high = pixel_range
    unit = ((images.detach().float().cpu() - low) / (high - low)).clamp(0.0, 1.0)
    return (unit * 255.0).round().to(torch.uint8).squeeze(1).numpy()


def image_grid(images: np.ndarray, columns: int | None = None, padding: int = 2,
               scale: int = 1) -> Image.Image:
    """uint8 (N, H, W) -> one grayscale image, or (N, 3, H, W) -> one RGB image (stacked-mnist: each
    channel's digit in its own colour), `columns` wide (square by default), on a dark frame,
    enlarged `scale` times."""
    if images.ndim == 4:  # (N, 3, H, W) -> (N, H, W, 3): PIL's layout for RGB
        if images.shape[1] != 3:
            raise ValueError(f"grids show 1 or 3 channels, not {images.shape[1]}")
        images = images.transpose(0, 2, 3, 1)
    n, h, w = images.shape[:3]
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    canvas = np.zeros((rows * (h + padding) + padding, columns * (w + padding) + padding, *images.shape[3:]),
                      np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        top, left = padding + r * (h + padding), padding + c * (w + padding)
        canvas[top : top + h, left : left + w] = image
    grid = Image.fromarray(canvas, mode="L" if canvas.ndim == 2 else "RGB")
    if scale > 1:  # 28-pixel digits are tiny on screen; nearest keeps the pixels honest
        grid = grid.resize((grid.width * scale, grid.height * scale), Image.Resampling.NEAREST)
    return grid


def save_grid(images: np.ndarray, path: str | Path, columns: int | None = None, scale: int = 2) -> None:
    grid = image_grid(images, columns, scale=scale)
    buffer = io.BytesIO()
    grid.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
