import gzip

import numpy as np
import pytest

from counterfeit.data import load_dataset, load_embedded
from counterfeit.errors import DataError


@pytest.mark.parametrize("argument", [None, "embedded"])
def test_embedded(argument):
    assert load_dataset(argument) is load_embedded()


def test_idx_gz_with_labels(tmp_path, idx_bytes, digits):
    images, labels = digits
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))

    dataset = load_dataset(tmp_path / "train-images-idx3-ubyte.gz")

    np.testing.assert_array_equal(dataset.images, images)
    assert dataset.labels is not None
    np.testing.assert_array_equal(dataset.labels, labels)


def test_npz_by_suffix_and_by_content(tmp_path, digits):
    np.savez(tmp_path / "digits.npz", images=digits[0])
    (tmp_path / "digits.bin").write_bytes((tmp_path / "digits.npz").read_bytes())
    for name in ("digits.npz", "digits.bin"):
        np.testing.assert_array_equal(load_dataset(str(tmp_path / name)).images, digits[0])


def test_directory(tmp_path, check_error):
    with pytest.raises(DataError) as error:
        load_dataset(tmp_path)
    check_error(error, tmp_path, "is a directory (expected an IDX images file or an .npz)")


@pytest.mark.parametrize("name", ["missing.npz", "missing-images-idx3-ubyte"])
def test_missing_file(tmp_path, check_error, name):
    path = tmp_path / name
    with pytest.raises(DataError) as error:
        load_dataset(path)
    check_error(error, path, ": no such file")


def test_unknown_format(tmp_path, check_error):
    path = tmp_path / "digit.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(DataError) as error:
        load_dataset(path)
    check_error(error, path, "not an IDX file")
