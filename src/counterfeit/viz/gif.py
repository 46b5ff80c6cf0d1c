"""The progress GIF: the snapshot grids in order, so a reader watches the digits form."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

from PIL import Image

from counterfeit.fileio import atomic_write_bytes


def write_gif(frames: Sequence[str | Path | Image.Image], path: str | Path, frame_ms: int = 400,
              last_frame_ms: int = 2000) -> None:
    images = [_load(f) for f in frames]
    if not images:
        raise ValueError("no frames for the GIF")
    durations = [frame_ms] * (len(images) - 1) + [last_frame_ms]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                   duration=durations, loop=0)
    atomic_write_bytes(path, buffer.getvalue())


def _load(frame: str | Path | Image.Image) -> Image.Image:
    """Grey frames stay grey; colour ones (stacked-mnist's grids) become RGB, which PIL quantises
    to the GIF's 256-colour palette."""
    if isinstance(frame, Image.Image):
        return _grey_or_rgb(frame)
    with Image.open(frame) as image:
        return _grey_or_rgb(image)


def _grey_or_rgb(image: Image.Image) -> Image.Image:
    return image.convert("L" if image.mode in ("L", "1", "I", "F") else "RGB")
