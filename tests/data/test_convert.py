"""The conversion rule on hand-made images, with values worked out by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from counterfeit.data.convert import Unconvertible, to_grayscale_28


def test_wide_image_keeps_its_centre_square() -> None:
    # 56x28: scaling leaves it as it is (the shorter side is already 28), the crop keeps columns 14-41.
    pixels = np.zeros((28, 56), np.uint8)
    pixels[:, 14:42] = 200
    converted = to_grayscale_28(Image.fromarray(pixels))
    assert converted.shape == (28, 28) and converted.dtype == np.uint8
    assert (converted == 200).all()


def test_tall_image_is_cropped_top_and_bottom() -> None:
    pixels = np.full((84, 28), 10, np.uint8)  # 28 wide, 84 tall: the middle third stays
    pixels[28:56] = 90
    assert (to_grayscale_28(Image.fromarray(pixels)) == 90).all()


def test_downscaling_halves_a_two_by_two_checkerboard_of_blocks() -> None:
    # 56x56 with 28x28 quadrants: after halving, each quadrant is a 14x14 block of its value;
    # Lanczos rings only next to the edges between blocks, so block interiors stay exact.
    pixels = np.zeros((56, 56), np.uint8)
    pixels[:28, :28], pixels[28:, 28:] = 255, 120
    converted = to_grayscale_28(Image.fromarray(pixels)).astype(int)
    assert (converted[:10, :10] == 255).all() and (converted[18:, 18:] == 120).all()
    assert (converted[:10, 18:] == 0).all() and (converted[18:, :10] == 0).all()


def test_colour_becomes_luma() -> None:
    red = Image.new("RGB", (28, 28), (255, 0, 0))
    green = Image.new("RGB", (30, 30), (0, 255, 0))
    # ITU-R 601-2: L = 299/1000 R + 587/1000 G + 114/1000 B, rounded
    assert (to_grayscale_28(red) == 76).all()
    assert (to_grayscale_28(green) == 150).all()


def test_transparency_is_black() -> None:
    image = Image.new("RGBA", (28, 28), (255, 255, 255, 0))  # white but fully transparent
    image.paste((255, 255, 255, 255), (7, 7, 21, 21))  # an opaque white square
    converted = to_grayscale_28(image)
    assert (converted[7:21, 7:21] == 255).all()
    assert converted.sum() == 255 * 14 * 14


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    pixels = np.zeros((28, 28), np.uint8)
    pixels[:, :14] = 255  # left half white, stored upside down: orientation 3 turns it 180 degrees
    exif = Image.Exif()
    exif[0x0112] = 3
    Image.fromarray(pixels).save(tmp_path / "turned.png", exif=exif)
    with Image.open(tmp_path / "turned.png") as image:
        converted = to_grayscale_28(image)
    assert (converted[:, 14:] == 255).all() and (converted[:, :14] == 0).all()


def test_too_elongated_is_refused() -> None:
    with pytest.raises(Unconvertible, match=r"200x40 pixels is too elongated"):
        to_grayscale_28(Image.new("L", (200, 40)))
    assert to_grayscale_28(Image.new("L", (160, 40))).shape == (28, 28)  # 4:1 is still fine


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path: Path) -> None:
    pixels = np.zeros((28, 28), np.uint16)
    pixels[:, 7:14], pixels[:, 14:21], pixels[:, 21:] = 257 * 37, 257 * 200, 65535
    Image.fromarray(pixels).save(tmp_path / "wide.png")  # a 16-bit grey PNG
    with Image.open(tmp_path / "wide.png") as image:  # as the folder reader opens it
        assert image.mode.startswith("I")
        converted = to_grayscale_28(image)
    assert converted[14, 3] == 0 and converted[14, 10] == 37 and converted[14, 17] == 200  # were 255: clipped
    assert converted[14, 25] == 255


@pytest.mark.parametrize("mode, key", [("RGB", (255, 255, 255)), ("L", 255)])
def test_a_transparent_colour_goes_over_black(mode: str, key: object, tmp_path: Path) -> None:
    pixels = np.full((28, 28), 255, np.uint8)  # white, marked transparent, around a grey bar
    pixels[:, 10:18] = 100
    Image.fromarray(pixels).convert(mode).save(tmp_path / "keyed.png", transparency=key)
    with Image.open(tmp_path / "keyed.png") as image:
        converted = to_grayscale_28(image)
    assert converted[14, 0] == 0 and converted[14, 14] == 100  # the background was read as white
