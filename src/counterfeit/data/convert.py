"""The conversion rule for image files of any size and colour, to what every model here takes:

1. EXIF orientation applied (photos from phones and cameras stand upright);
2. transparency composited over black, the background of MNIST-like data;
3. grayscale by ITU-R 601-2 luma (Pillow's "L": L = 0.299 R + 0.587 G + 0.114 B);
4. the largest centred square cut out and resized to 28×28 with a Lanczos filter: the same as
   resizing with the aspect ratio kept until the shorter side is 28 px, then cropping the centre.

Images whose longer side exceeds MAX_ASPECT times the shorter one are refused: the crop would keep
less than a quarter of them. Dark-on-light images are inverted (255 - x) by `invert = true`, which
the loader applies after this rule to any data.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from counterfeit.data.dataset import IMAGE_SHAPE

MAX_ASPECT = 4.0
FORMATS = ("PNG", "JPEG", "MPO")  # MPO: the multi-picture JPEG of some cameras; its first frame is read


class Unconvertible(ValueError):
    """An image this rule refuses; its message says why, for the one-line error naming the file."""


def to_grayscale_28(image: Image.Image) -> np.ndarray:
    """uint8 (28, 28) by the rule above."""
    width, height = image.size
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise Unconvertible(f"{width}x{height} pixels is too elongated to crop to a square "
                            f"(more than {MAX_ASPECT:g}:1)")
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    square = ImageOps.fit(image.convert("L"), IMAGE_SHAPE[::-1], method=Image.Resampling.LANCZOS)
    return np.asarray(square, dtype=np.uint8).copy()  # a copy: Pillow's buffer is read-only
