"""NumPy .npz archives: `images` (uint8 or float in [0, 1]), optionally `labels`."""

from __future__ import annotations

import os
import zipfile
import zlib

import numpy as np

from counterfeit.data.dataset import IMAGE_SHAPE, Dataset, file_error
from counterfeit.errors import DataError

EXPECTED_IMAGES = "uint8 (0-255) or float in [0, 1], shaped (N, 28, 28) or (N, 784), or (N, 3, 28, 28) for stacked-mnist"
# What np.load and reading a member raise for a file that is not a valid archive, a corrupt
# member, or an object array refused under allow_pickle=False.
BAD_ARCHIVE_ERRORS = (ValueError, EOFError, zipfile.BadZipFile, zlib.error)


def read_npz(path: str | os.PathLike[str]) -> Dataset:
    """A Dataset from an .npz made with np.savez(path, images=..., labels=...)."""
    path = os.fspath(path)
    images, labels = _read_arrays(path)
    return Dataset(_as_uint8_images(images, path), _as_int64_labels(labels, path), path)


def _read_arrays(path: str) -> tuple[np.ndarray, np.ndarray | None]:
    # We open the file, not np.load: it leaks its own handle when the zip is broken.
    try:
        file = open(path, "rb")
    except OSError as error:
        raise file_error(path, error) from None
    with file:
        try:
            archive = np.load(file, allow_pickle=False)
        except BAD_ARCHIVE_ERRORS:
            # numpy's own reason here talks about pickles, which only misleads.
            raise DataError(f"{path}: not an .npz archive (expected np.savez output)") from None
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise DataError(f"{path}: is a single .npy array, expected an .npz with 'images'")
        with archive:
            if "images" not in archive.files:
                found = ", ".join(archive.files) or "none"
                raise DataError(f"{path}: no 'images' array (keys found: {found})")
            try:
                images = archive["images"]
                labels = archive["labels"] if "labels" in archive.files else None
            except (OSError, *BAD_ARCHIVE_ERRORS) as error:
                raise DataError(f"{path}: cannot read arrays from .npz ({error})") from None
    if not isinstance(images, np.ndarray) or not isinstance(labels, np.ndarray | None):
        # NpzFile hands back raw bytes for zip members that are not .npy files.
        raise DataError(f"{path}: 'images' and 'labels' must be .npy arrays in the archive")
    return images, labels


def _as_uint8_images(images: np.ndarray, path: str) -> np.ndarray:
    found = f"{images.dtype} {images.shape}"
    if images.ndim == 2 and images.shape[1] == IMAGE_SHAPE[0] * IMAGE_SHAPE[1]:
        images = images.reshape(-1, *IMAGE_SHAPE)
    stacked = images.ndim == 4 and images.shape[1:] == (3, *IMAGE_SHAPE)  # `sample` of a stacked-mnist run
    if not stacked and (images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE):
        raise DataError(f"{path}: 'images' is {found}, expected {EXPECTED_IMAGES}")
    if len(images) == 0:
        raise DataError(f"{path}: 'images' contains no images")
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.floating):
        raise DataError(f"{path}: 'images' is {found}, expected {EXPECTED_IMAGES}")
    if not np.isfinite(images).all():
        raise DataError(f"{path}: 'images' contains NaN or Inf")
    low, high = images.min(), images.max()
    if low < 0 or high > 1:
        raise DataError(
            f"{path}: float 'images' must lie in [0, 1], found values in [{low:g}, {high:g}]"
        )
    return np.rint(images * 255).astype(np.uint8)


def _as_int64_labels(labels: np.ndarray | None, path: str) -> np.ndarray | None:
    if labels is None:
        return None
    if not np.issubdtype(labels.dtype, np.integer) or labels.ndim != 1:
        raise DataError(
            f"{path}: 'labels' is {labels.dtype} {labels.shape}, expected integers shaped (N,)"
        )
    if len(labels) and labels.max() > np.iinfo(np.int64).max:  # uint64: the cast would wrap to a negative label
        raise DataError(f"{path}: 'labels' holds {labels.max()}, far beyond any class index")
    return labels.astype(np.int64)
