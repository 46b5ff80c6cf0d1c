"""Stacked MNIST: each channel is a digit of the base set, the label its mode, drawn from the run's seed."""

from __future__ import annotations

import numpy as np
import pytest

from counterfeit.data.dataset import Dataset
from counterfeit.data.embedded import load_embedded
from counterfeit.data.loading import absolute_data, load_dataset
from counterfeit.data.stacked import STACKED_SIZE, stack_digits, stacked_mnist
from counterfeit.errors import ConfigError
from counterfeit.seeds import Stream, stream_seed


def test_each_channel_is_the_base_digit_its_label_names() -> None:
    # A hand-made base: image k is filled with 10 k + 1 and labelled k % 10, so a channel's pixels
    # say which base image it is, and its label which digit.
    base_images = np.stack([np.full((28, 28), 10 * k + 1, np.uint8) for k in range(20)])
    base = Dataset(base_images, np.arange(20, dtype=np.int64) % 10, "hand-made")
    stacked = stack_digits(base, 50, seed=3)
    assert stacked.images.shape == (50, 3, 28, 28) and stacked.channels == 3
    for image, mode in zip(stacked.images, stacked.labels):
        picked = [(int(channel[0, 0]) - 1) // 10 for channel in image]  # the base image in each channel
        assert all((channel == 10 * k + 1).all() for channel, k in zip(image, picked))
        assert mode == 100 * (picked[0] % 10) + 10 * (picked[1] % 10) + picked[2] % 10


def test_stacked_mnist_channels_are_embedded_digits_of_the_labelled_class() -> None:
    base = load_embedded()
    stacked = stacked_mnist(seed=5, n=40)
    flat = base.images.reshape(len(base), -1)
    for image, mode in zip(stacked.images, stacked.labels):
        digits = (mode // 100, mode // 10 % 10, mode % 10)
        for channel, digit in zip(image, digits):
            matches = np.flatnonzero((flat == channel.reshape(-1)).all(1))
            assert len(matches) >= 1 and digit in base.labels[matches]


def test_same_seed_same_images_other_seed_other_images() -> None:
    a, b, c = stacked_mnist(1, n=100), stacked_mnist(1, n=100), stacked_mnist(2, n=100)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images, c.images)


def test_load_dataset_draws_from_the_runs_stacked_stream() -> None:
    dataset = load_dataset("stacked-mnist", seed=7)
    assert len(dataset) == STACKED_SIZE == 128_000 and dataset.name == "stacked-mnist"  # PacGAN's size
    expected = stacked_mnist(stream_seed(7, Stream.STACKED))
    assert np.array_equal(dataset.images, expected.images)
    # 128 images per mode on average: every one of the 1,000 modes is there
    assert len(np.unique(dataset.labels)) == 1000
    smaller = load_dataset("stacked-mnist", seed=7, stacked_size=20_000)  # config.stacked_size
    assert len(smaller) == 20_000 and np.array_equal(smaller.images, stacked_mnist(stream_seed(7, Stream.STACKED), 20_000).images)
    assert absolute_data("stacked-mnist") == "stacked-mnist"  # a name, not a path


def test_stacked_mnist_cannot_be_inverted() -> None:
    with pytest.raises(ConfigError, match="invert: stacked-mnist"):
        load_dataset("stacked-mnist", invert=True)
