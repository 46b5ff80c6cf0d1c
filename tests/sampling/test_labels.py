from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from counterfeit.errors import UserError
from counterfeit.config import resolve
from counterfeit.sampling.labels import balanced_labels, class_grid_inputs, parse_digit, refuse_digit_if_unconditional
from counterfeit.priors import Prior


@pytest.mark.parametrize("text, digit", [("0", 0), ("7", 7), ("9", 9), ("all", None)])
def test_parse_digit(text: str, digit: int | None) -> None:
    assert parse_digit(text) == digit


@pytest.mark.parametrize("text", ["10", "-1", "seven", "", "3.0", "All"])
def test_parse_digit_refuses(text: str) -> None:
    with pytest.raises(UserError, match="expected a digit 0-9"):
        parse_digit(text)


def test_class_grid_rows_share_noise_by_column() -> None:
    z, labels = class_grid_inputs(Prior("normal", 4), 3, torch.Generator().manual_seed(0))
    assert z.shape == (30, 4) and labels.tolist() == [d for d in range(10) for _ in range(3)]
    rows = z.view(10, 3, 4)
    assert all(torch.equal(rows[0], rows[r]) for r in range(10))
    assert not torch.equal(rows[0, 0], rows[0, 1])


def test_balanced_labels() -> None:
    assert np.bincount(balanced_labels(100).numpy()).tolist() == [10] * 10



@pytest.mark.parametrize("preset, says", [("dcgan", "is unconditional"),
                                          ("best", "self-conditioned on 200 k-means clusters, which are not digits")])
def test_digit_refused_says_why(preset: str, says: str) -> None:
    with pytest.raises(UserError, match=says):
        refuse_digit_if_unconditional(resolve(preset=preset), 3)
    refuse_digit_if_unconditional(resolve(preset="cdcgan"), 3)  # conditional: asked by digit
    refuse_digit_if_unconditional(resolve(preset=preset), None)  # no --digit: nothing to refuse


def test_generate_names_a_bad_argument(tiny_run: Path, tiny_cgan_run: Path) -> None:
    from counterfeit import generate, load_generator

    generator, config = load_generator(tiny_run)
    for n in (0, -1, 2.5):
        with pytest.raises(UserError, match="n: expected a positive number of images"):
            generate(generator, config, n)
    with pytest.raises(UserError, match="labels: this run's model .* is unconditional"):  # was a TypeError of forward()
        generate(generator, config, 10, labels=torch.full((10,), 7))
    generator, config = load_generator(tiny_cgan_run)
    for labels, said in [(torch.full((5,), 7), r"shape \(10,\).*torch.int64 \(5,\)"), ([7] * 10, "got list"),
                         (torch.full((10,), 7.0), "got torch.float32"), (torch.full((10,), 12), "digits are 0-9, got 12..12")]:
        with pytest.raises(UserError, match=f"labels: .*{said}"):
            generate(generator, config, 10, labels=labels)
    assert generate(generator, config, 10, labels=torch.full((10,), 7)).shape == (10, 28, 28)
    assert generate(generator, config, np.int64(10)).shape == (10, 28, 28)  # numpy's ints are counts too
