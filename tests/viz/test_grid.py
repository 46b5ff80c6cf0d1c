"""Sample grids: grey for 1 channel, RGB for 3 (each stacked-mnist channel in its own colour)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from counterfeit.viz.gif import write_gif
from counterfeit.viz.grid import image_grid, to_uint8


def test_three_channel_grid_is_rgb_with_each_channel_in_its_colour() -> None:
    images = np.zeros((2, 3, 4, 4), np.uint8)
    images[0, 0] = 200  # image 0: red only
    images[1, 2] = 90   # image 1: blue only
    grid = np.asarray(image_grid(images, columns=2, padding=1))
    assert grid.shape == (6, 11, 3)  # 1 + 4 + 1 rows; 1 + 4 + 1 + 4 + 1 columns
    assert (grid[1:5, 1:5] == [200, 0, 0]).all()
    assert (grid[1:5, 6:10] == [0, 0, 90]).all()
    assert (grid[0] == 0).all()  # the dark frame


def test_one_channel_grid_stays_grey() -> None:
    grid = image_grid(np.full((4, 28, 28), 7, np.uint8))
    assert grid.mode == "L"


def test_grids_refuse_other_channel_counts() -> None:
    with pytest.raises(ValueError, match="1 or 3 channels"):
        image_grid(np.zeros((2, 2, 28, 28), np.uint8))


def test_to_uint8_keeps_three_channels() -> None:
    out = to_uint8(torch.tensor([-1.0, 0.0, 1.0]).view(1, 3, 1, 1).expand(2, 3, 28, 28), (-1.0, 1.0))
    assert out.shape == (2, 3, 28, 28) and out[0, :, 0, 0].tolist() == [0, 128, 255]


def test_gif_of_rgb_grids_keeps_colour(tmp_path: Path) -> None:
    images = np.zeros((1, 3, 28, 28), np.uint8)
    images[0, 1] = 255  # green
    write_gif([image_grid(images), image_grid(images)], tmp_path / "p.gif")
    with Image.open(tmp_path / "p.gif") as gif:
        r, g, b = gif.convert("RGB").getpixel((10, 10))
    assert g > 200 and r < 50 and b < 50
