import gzip
import os

import numpy as np
import pytest

from counterfeit.data import read_idx, read_idx_dataset
from counterfeit.errors import DataError


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip(tmp_path, idx_bytes, digits, compress):
    images, _ = digits
    data = idx_bytes(images)
    path = tmp_path / "images.idx"  # no .gz suffix either way: gzip is sniffed from the bytes
    path.write_bytes(gzip.compress(data) if compress else data)

    array = read_idx(path)

    assert array.dtype == np.uint8
    np.testing.assert_array_equal(array, images)
    assert array.flags.writeable


def test_raw_file_named_gz_is_read_raw(tmp_path, idx_bytes, digits):
    path = tmp_path / "images-idx3-ubyte.gz"
    path.write_bytes(idx_bytes(digits[0]))
    np.testing.assert_array_equal(read_idx(path), digits[0])


def test_dataset_without_labels_file(tmp_path, idx_bytes, digits):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(digits[0]))

    dataset = read_idx_dataset(path)

    assert dataset.labels is None
    assert dataset.source == str(path)
    np.testing.assert_array_equal(dataset.images, digits[0])


@pytest.mark.parametrize(
    ("images_name", "labels_name"),
    [
        ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
        ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte"),
        ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte.gz"),
        ("train-images.idx3-ubyte", "train-labels.idx1-ubyte"),
        ("fashion_images.idx", "fashion_labels.idx"),
    ],
)
def test_labels_found_beside_images(tmp_path, idx_bytes, digits, images_name, labels_name):
    images, labels = digits
    (tmp_path / images_name).write_bytes(gzip.compress(idx_bytes(images)))
    labels_data = idx_bytes(labels)
    (tmp_path / labels_name).write_bytes(
        gzip.compress(labels_data) if labels_name.endswith(".gz") else labels_data
    )

    dataset = read_idx_dataset(tmp_path / images_name)

    assert dataset.labels is not None
    assert dataset.labels.dtype == np.int64
    np.testing.assert_array_equal(dataset.labels, labels)


def test_gz_images_alone_do_not_take_their_uncompressed_twin_as_labels(tmp_path, idx_bytes, digits):
    (tmp_path / "digits.gz").write_bytes(gzip.compress(idx_bytes(digits[0])))
    (tmp_path / "digits").write_bytes(idx_bytes(digits[0]))
    assert read_idx_dataset(tmp_path / "digits.gz").labels is None


def _corrupt_gzip(data: bytes) -> bytes:
    compressed = bytearray(gzip.compress(data))
    compressed[20:40] = bytes(20)
    return bytes(compressed)


BAD_FILES = {
    "truncated": (lambda raw: raw[:-10], ["truncated", "5x28x28 need 3920 data bytes, found 3910"]),
    "trailing-bytes": (lambda raw: raw + bytes(3), ["3 trailing bytes", "found 3923"]),
    "wrong-magic": (lambda raw: b"\x89PNG\r\n\x1a\n" + raw, ["wrong magic number 0x89504E47"]),
    "zero-magic": (lambda raw: bytes(4) + raw, ["wrong magic number 0x00000000", "0x00000803"]),
    "float-type-code": (lambda raw: raw[:2] + b"\x0d" + raw[3:], ["0x0D (float32) is not"]),
    "zero-dims": (lambda raw: bytes([0, 0, 8, 0]), ["0 dimensions"]),
    "truncated-header": (lambda raw: raw[:8], ["truncated IDX header (8 of 16 bytes)"]),
    "empty-file": (lambda raw: b"", ["0 bytes is too short"]),
    "corrupt-gzip": (_corrupt_gzip, ["corrupt gzip"]),
    "truncated-gzip": (lambda raw: gzip.compress(raw)[:-30], ["corrupt gzip"]),
}


@pytest.mark.parametrize(("make_bytes", "phrases"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_file(tmp_path, idx_bytes, digits, check_error, make_bytes, phrases):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(make_bytes(idx_bytes(digits[0])))
    with pytest.raises(DataError) as error:
        read_idx_dataset(path)
    check_error(error, path, *phrases)


def test_wrong_image_size(tmp_path, idx_bytes, check_error):
    path = tmp_path / "images.idx"
    path.write_bytes(idx_bytes(np.zeros((2, 32, 32), np.uint8)))
    with pytest.raises(DataError) as error:
        read_idx_dataset(path)
    check_error(error, path, "shape (2, 32, 32)", "expected (N, 28, 28)")


def test_image_label_count_mismatch(tmp_path, idx_bytes, digits, check_error):
    images_path = tmp_path / "train-images-idx3-ubyte"
    labels_path = tmp_path / "train-labels-idx1-ubyte"
    images_path.write_bytes(idx_bytes(digits[0]))
    labels_path.write_bytes(idx_bytes(digits[1][:4]))
    with pytest.raises(DataError) as error:
        read_idx_dataset(images_path)
    check_error(error, images_path, str(labels_path), "5 images", "4 labels")


def test_labels_file_must_be_1d(tmp_path, idx_bytes, digits, check_error):
    images_path = tmp_path / "train-images-idx3-ubyte"
    labels_path = tmp_path / "train-labels-idx1-ubyte"
    images_path.write_bytes(idx_bytes(digits[0]))
    labels_path.write_bytes(idx_bytes(digits[0]))
    with pytest.raises(DataError) as error:
        read_idx_dataset(images_path)
    check_error(error, labels_path, "expected (N,)")


def test_missing_file(tmp_path, check_error):
    path = tmp_path / "nope-images-idx3-ubyte.gz"
    with pytest.raises(DataError) as error:
        read_idx(path)
    check_error(error, path, "no such file")


def test_directory(tmp_path, check_error):
    with pytest.raises(DataError) as error:
        read_idx(tmp_path)
    check_error(error, tmp_path, "is a directory")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path, idx_bytes, digits, check_error):
    path = tmp_path / "images.idx"
    path.write_bytes(idx_bytes(digits[0]))
    path.chmod(0)
    with pytest.raises(DataError) as error:
        read_idx(path)
    check_error(error, path, "cannot read")
