"""The conversion rule for image files of any size and colour, to what every model here takes:

1. EXIF orientation applied (photos from phones and cameras stand upright);
2. 16-bit grey scaled to 8 bits (x / 257, rounded);
3. transparency (an alpha channel, or a PNG's transparent colour) composited over black, the
   background of MNIST-like data;
4. grayscale by ITU-R 601-2 luma (Pillow's "L": L = 0.299 R + 0.587 G + 0.114 B);
5. the largest centred square cut out and resized to 28×28 with a Lanczos filter: the same as
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
WIDE_GREY = ("I;16", "I;16B", "I;16L", "I")  # how Pillow opens a 16-bit grey PNG (versions differ)


class Unconvertible(ValueError):
    """An image this rule refuses; its message says why, for the one-line error naming the file."""


def to_grayscale_28(image: Image.Image) -> np.ndarray:
    """uint8 (28, 28) by the rule above."""
    width, height = image.size
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise Unconvertible(f"{width}x{height} pixels is too elongated to crop to a square "
                            f"(more than {MAX_ASPECT:g}:1)")
    image = ImageOps.exif_transpose(image)
    if image.mode in WIDE_GREY:  # Pillow's convert("L") clips these at 255: a 16-bit PNG came out almost white
        wide = np.asarray(image, dtype=np.float64) / 257  # 65535 -> 255
        image = Image.fromarray(np.clip(np.rint(wide), 0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:  # an alpha channel, or a colour key (tRNS)
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    square = ImageOps.fit(image.convert("L"), IMAGE_SHAPE[::-1], method=Image.Resampling.LANCZOS)
    return np.asarray(square, dtype=np.uint8).copy()  # a copy: Pillow's buffer is read-only
