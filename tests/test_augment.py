"""DiffAugment's translation and cutout: whole-pixel shifts with zero fill, one zeroed square per
image, parameters from the generator they are given, gradients through both."""

from __future__ import annotations

import torch

from counterfeit.augment import (AUGMENTATIONS, augment, cut_out, cutout_size, draw_corners, draw_shifts, max_shift,
                                 translate)
from counterfeit.config import AUGMENT_NAMES

CPU = torch.device("cpu")


def rng(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_every_allowed_name_is_implemented() -> None:
    assert set(AUGMENTATIONS) == set(AUGMENT_NAMES)


def test_sizes_for_mnist() -> None:
    assert (max_shift(28), cutout_size(28)) == (3, 14)  # 1/8 of the side (at most 3.5), half the side


def test_translation_moves_whole_pixels_and_fills_with_zeros() -> None:
    images = torch.zeros(2, 1, 28, 28)
    images[:, 0, 5, 7] = 1.0
    images[:, 0, 0, 0] = 2.0  # a corner pixel that one shift pushes out of the image
    shifts = torch.tensor([[2, -3], [-1, 3]])  # (dy, dx) per image
    out = translate(images, shifts)
    expected = torch.zeros_like(images)
    expected[0, 0, 7, 4] = 1.0  # (5 + 2, 7 - 3); the corner went to (2, -3): gone
    expected[1, 0, 4, 10] = 1.0  # (5 - 1, 7 + 3); the corner went to (-1, 3): gone
    assert torch.equal(out, expected)


def test_translation_is_a_shifted_copy_of_any_image() -> None:
    images = torch.rand(3, 2, 28, 28) + 0.5  # no zeros of its own: every zero is fill
    shifts = torch.tensor([[3, 3], [0, -2], [-3, 1]])
    out = translate(images, shifts)
    for i, (dy, dx) in enumerate(shifts.tolist()):
        for y in range(28):
            for x in range(28):
                sy, sx = y - dy, x - dx
                want = images[i, :, sy, sx] if 0 <= sy < 28 and 0 <= sx < 28 else torch.zeros(2)
                assert torch.equal(out[i, :, y, x], want), (i, y, x)


def test_cutout_zeros_exactly_one_square_of_half_the_side_per_image() -> None:
    images = torch.ones(64, 1, 28, 28)
    corners = draw_corners(64, 28, rng(0), CPU)
    out = cut_out(images, corners)
    for image, (top, left) in zip(out[:, 0], corners.tolist()):
        zeros = (image == 0).nonzero()
        assert len(zeros) == 14 * 14
        assert zeros.min(0).values.tolist() == [top, left]
        assert zeros.max(0).values.tolist() == [top + 13, left + 13]
    assert set(out.unique().tolist()) == {0.0, 1.0}


def test_cutout_at_hand_chosen_corners() -> None:
    out = cut_out(torch.ones(2, 1, 28, 28), torch.tensor([[0, 0], [14, 14]]))
    assert out[0, 0, :14, :14].eq(0).all() and out[0, 0, 14:, :].eq(1).all() and out[0, 0, :, 14:].eq(1).all()
    assert out[1, 0, 14:, 14:].eq(0).all() and out[1, 0, :14, :].eq(1).all() and out[1, 0, :, :14].eq(1).all()


def test_draws_cover_their_ranges() -> None:
    shifts = draw_shifts(2000, 28, rng(1), CPU)
    assert set(shifts.unique().tolist()) == set(range(-3, 4))
    corners = draw_corners(2000, 28, rng(1), CPU)
    assert set(corners.unique().tolist()) == set(range(0, 15))  # the square stays inside


def test_same_seed_same_batch_other_seed_other_batch() -> None:
    images = torch.rand(16, 1, 28, 28)
    names = ("translation", "cutout")
    first, again = augment(images, names, rng(7)), augment(images, names, rng(7))
    assert torch.equal(first, again)
    assert not torch.equal(first, augment(images, names, rng(8)))
    assert not torch.equal(first, images)


def test_no_names_leave_the_images_alone() -> None:
    images = torch.rand(4, 1, 28, 28)
    generator = rng(0)
    state = generator.get_state()
    assert augment(images, (), generator) is images
    assert torch.equal(generator.get_state(), state)  # and draw nothing


def test_a_shard_of_a_global_draw_augments_as_the_whole_batch_would() -> None:
    # torchrun: each process draws for the global batch and keeps its own rows
    images = torch.rand(8, 1, 28, 28)
    names = ("cutout", "translation")
    whole = augment(images, names, rng(3))
    second_half = augment(images[4:], names, rng(3), rows=8, keep=lambda params: params[4:])
    assert torch.equal(second_half, whole[4:])


def test_gradients_flow_through_both() -> None:
    images = torch.rand(2, 1, 28, 28, requires_grad=True)
    corners = torch.tensor([[2, 5], [10, 0]])
    shifts = torch.tensor([[1, -2], [0, 3]])
    translate(cut_out(images, corners), shifts).sum().backward()
    # d out / d pixel: 1 where a pixel survives the square and lands inside the image after the shift
    kept = cut_out(torch.ones(2, 1, 28, 28), corners)
    lands = translate(torch.ones(2, 1, 28, 28), -shifts)  # pixel (y, x) lands at (y + dy, x + dx)
    assert torch.equal(images.grad, kept * lands)
    assert 0 < images.grad.sum() < images.numel()
