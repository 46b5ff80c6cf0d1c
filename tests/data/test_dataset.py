import numpy as np
import pytest

from counterfeit.data import Dataset
from counterfeit.errors import DataError


def test_fingerprint_is_short_stable_and_covers_labels(digits):
    images, labels = digits
    labelled = Dataset(images, labels, "a")
    assert len(labelled.fingerprint) == 16
    assert labelled.fingerprint == Dataset(images.copy(), labels.copy(), "b").fingerprint
    assert labelled.fingerprint != Dataset(images, None, "a").fingerprint
    assert labelled.fingerprint != Dataset(images, labels[::-1].copy(), "a").fingerprint


def test_num_classes(digits):
    images, labels = digits
    assert Dataset(images, labels, "s").num_classes == 10
    assert Dataset(images, None, "s").num_classes is None
    assert Dataset(images, np.array([0, 1, 2, 3, 11]), "s").num_classes == 12


def test_len_and_arrays_stay_writable(digits):
    dataset = Dataset(*digits, "s")
    assert len(dataset) == 5
    assert dataset.images.flags.writeable  # torch.from_numpy warns on read-only arrays


@pytest.mark.parametrize(
    ("images", "labels", "phrase"),
    [
        (np.zeros((2, 28, 28), np.float32), None, "dtype float32, expected uint8"),
        (np.zeros((2, 784), np.uint8), None, "shape (2, 784), expected (N, 28, 28)"),
        (np.zeros((0, 28, 28), np.uint8), None, "contains no images"),
        (np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.int32), "labels are int32"),
        (np.zeros((2, 28, 28), np.uint8), np.zeros((2, 1), np.int64), "shape (2, 1)"),
        (np.zeros((2, 28, 28), np.uint8), np.zeros(3, np.int64), "2 images but 3 labels"),
        (np.zeros((2, 28, 28), np.uint8), np.array([0, -3]), "found -3"),
    ],
)
def test_invalid(check_error, images, labels, phrase):
    with pytest.raises(DataError) as error:
        Dataset(images, labels, "my/source.npz")
    check_error(error, "my/source.npz", phrase)
