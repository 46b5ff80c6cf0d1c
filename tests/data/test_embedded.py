import shutil
from importlib.resources import files

import numpy as np
import pytest

from counterfeit.data import load_embedded
from counterfeit.data.embedded import EMBEDDED_FILE, EMBEDDED_SHA256, read_verified
from counterfeit.errors import DataError

CLASS_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]


def test_size_dtype_and_class_counts():
    dataset = load_embedded()
    assert len(dataset) == 10_000
    assert dataset.images.shape == (10_000, 28, 28) and dataset.images.dtype == np.uint8
    assert dataset.labels is not None and dataset.labels.dtype == np.int64
    assert np.bincount(dataset.labels).tolist() == CLASS_COUNTS
    assert np.all(np.diff(dataset.labels) >= 0), "ordered by class"
    assert dataset.num_classes == 10


def test_loaded_once():
    assert load_embedded() is load_embedded()


def test_fingerprint_is_pinned():
    # Changes only if the embedded pixels or labels change.
    assert load_embedded().fingerprint == "0decd57667ee97ca"


# First row with ink of a few images, as floats copied from the npm package's digits/<d>.json.
@pytest.mark.parametrize(
    ("index", "row", "first_column", "json_values"),
    [
        (0, 4, 15, [0.2, 0.624, 0.992, 0.624, 0.196]),  # first "0"
        (9022, 7, 12, [0.216, 0.58, 0.824, 0.992, 0.992, 0.443, 0.341, 0.58, 0.216]),  # first "9"
        (9999, 6, 12, [0.039, 0.525, 0.851, 0.996, 0.996, 0.788, 0.141]),  # last "9"
    ],
)
def test_pixels_match_the_npm_json(index, row, first_column, json_values):
    image = load_embedded().images[index]
    expected_row = np.zeros(28, np.uint8)
    columns = slice(first_column, first_column + len(json_values))
    expected_row[columns] = [round(value * 255) for value in json_values]
    assert not image[:row].any()
    np.testing.assert_array_equal(image[row], expected_row)


def test_tampered_copy_fails_the_sha_check(tmp_path, check_error):
    path = tmp_path / EMBEDDED_FILE
    shutil.copyfile(str(files("counterfeit.data") / EMBEDDED_FILE), path)
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    path.write_bytes(data)
    with pytest.raises(DataError) as error:
        read_verified(path)
    check_error(error, path, "does not match the expected", EMBEDDED_SHA256, "reinstall")


def test_missing_file(tmp_path, check_error):
    path = tmp_path / EMBEDDED_FILE
    with pytest.raises(DataError) as error:
        read_verified(path)
    check_error(error, path, "cannot read the embedded dataset")
