import zipfile

import numpy as np
import pytest

from counterfeit.data import read_npz
from counterfeit.errors import DataError


def test_uint8_images_and_labels(tmp_path, digits):
    images, labels = digits
    path = tmp_path / "digits.npz"
    np.savez_compressed(path, images=images, labels=labels.astype(np.uint8))

    dataset = read_npz(path)

    np.testing.assert_array_equal(dataset.images, images)
    assert dataset.labels is not None and dataset.labels.dtype == np.int64
    np.testing.assert_array_equal(dataset.labels, labels)
    assert dataset.source == str(path)


def test_flat_images_are_reshaped(tmp_path, digits):
    path = tmp_path / "flat.npz"
    np.savez(path, images=digits[0].reshape(5, 784))
    dataset = read_npz(path)
    np.testing.assert_array_equal(dataset.images, digits[0])
    assert dataset.labels is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_images_in_unit_range_become_exact_uint8(tmp_path, digits, dtype):
    path = tmp_path / "float.npz"
    np.savez(path, images=(digits[0] / 255).astype(dtype))
    np.testing.assert_array_equal(read_npz(path).images, digits[0])


def _uint8_images(n: int) -> np.ndarray:
    return np.zeros((n, 28, 28), np.uint8)


BAD_ARRAYS = {
    "no-images": ({"pixels": _uint8_images(2)}, ["no 'images'", "keys found: pixels"]),
    "int32": ({"images": np.zeros((2, 28, 28), np.int32)}, ["int32", "expected uint8"]),
    "shape-Nx10": ({"images": np.zeros((5, 10), np.uint8)}, ["(5, 10)", "(N, 784)"]),
    "empty": ({"images": _uint8_images(0)}, ["contains no images"]),
    "nan": ({"images": np.full((2, 28, 28), np.nan)}, ["NaN or Inf"]),
    "inf": ({"images": np.full((2, 28, 28), np.inf)}, ["NaN or Inf"]),
    "float-0-255": ({"images": np.full((2, 28, 28), 255.0)}, ["[0, 1]", "[255, 255]"]),
    "float-negative": ({"images": np.full((2, 28, 28), -0.5)}, ["[0, 1]", "[-0.5, -0.5]"]),
    "labels-length": (
        {"images": _uint8_images(5), "labels": np.zeros(4, np.int64)},
        ["5 images but 4 labels"],
    ),
    "labels-float": (
        {"images": _uint8_images(2), "labels": np.zeros(2, np.float32)},
        ["'labels' is float32", "expected integers"],
    ),
    "labels-negative": (
        {"images": _uint8_images(2), "labels": np.array([0, -1])},
        ["labels must be >= 0"],
    ),
    "labels-uint64": (  # the cast to int64 wrapped it to a negative number
        {"images": _uint8_images(2), "labels": np.array([0, 2**63 + 5], np.uint64)},
        ["'labels' holds 9223372036854775813"],
    ),
}


@pytest.mark.parametrize(("arrays", "phrases"), BAD_ARRAYS.values(), ids=BAD_ARRAYS.keys())
def test_bad_arrays(tmp_path, check_error, arrays, phrases):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError) as error:
        read_npz(path)
    check_error(error, path, *phrases)


def test_object_array_is_refused(tmp_path, check_error):
    path = tmp_path / "objects.npz"
    np.savez(path, images=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError) as error:
        read_npz(path)
    check_error(error, path, "Object arrays cannot be loaded")


@pytest.mark.parametrize(
    "content",
    [b"hello, I am text\n", b"", b"PK\x03\x04 truncated zip"],
    ids=["text", "empty", "bad-zip"],
)
def test_not_an_npz(tmp_path, check_error, content):
    path = tmp_path / "fake.npz"
    path.write_bytes(content)
    with pytest.raises(DataError) as error:
        read_npz(path)
    check_error(error, path, "not an .npz archive")


def test_single_npy_named_npz(tmp_path, digits, check_error):
    path = tmp_path / "array.npz"
    with path.open("wb") as file:
        np.save(file, digits[0])
    with pytest.raises(DataError) as error:
        read_npz(path)
    check_error(error, path, "single .npy array")


def test_zip_member_that_is_not_npy(tmp_path, check_error):
    path = tmp_path / "raw.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("images", b"raw bytes")
    with pytest.raises(DataError) as error:
        read_npz(path)
    check_error(error, path, "must be .npy arrays")


def test_corrupt_member(tmp_path, digits, check_error):
    path = tmp_path / "corrupt.npz"
    np.savez_compressed(path, images=digits[0])
    data = bytearray(path.read_bytes())
    data[200:260] = bytes(60)
    path.write_bytes(data)
    with pytest.raises(DataError) as error:
        read_npz(path)
    check_error(error, path, "cannot read arrays")


def test_missing_file(tmp_path, check_error):
    path = tmp_path / "missing.npz"
    with pytest.raises(DataError) as error:
        read_npz(path)
    check_error(error, path, "no such file")
