"""IDX files, the format of MNIST and Fashion-MNIST, raw or gzipped.

Layout (big-endian): two zero bytes, a type code, the number of dimensions, one uint32 per
dimension, then the data in C order. Only type 0x08 (uint8) is read: it is what both datasets use.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from counterfeit.data.dataset import Dataset, file_error
from counterfeit.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"
UINT8_TYPE_CODE = 0x08
OTHER_TYPE_CODES = {0x09: "int8", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64"}


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """The uint8 array in an IDX file; gzip is recognised by its magic bytes, not the file name."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise file_error(path, error) from None
    if data.startswith(GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(f"{path}: corrupt gzip data ({error})") from None

    if len(data) < 4:
        raise DataError(f"{path}: {len(data)} bytes is too short for an IDX file")
    type_code, ndim = data[2], data[3]
    if data[:2] != b"\0\0" or (type_code != UINT8_TYPE_CODE and type_code not in OTHER_TYPE_CODES):
        magic = int.from_bytes(data[:4], "big")
        raise DataError(
            f"{path}: not an IDX file: wrong magic number 0x{magic:08X}"
            " (expected 0x00000803 for uint8 images or 0x00000801 for uint8 labels)"
        )
    if type_code != UINT8_TYPE_CODE:
        raise DataError(
            f"{path}: IDX data type 0x{type_code:02X} ({OTHER_TYPE_CODES[type_code]})"
            " is not supported, only 0x08 (uint8)"
        )
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions")

    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(f"{path}: truncated IDX header ({len(data)} of {header_size} bytes)")
    shape = tuple(int.from_bytes(data[i : i + 4], "big") for i in range(4, header_size, 4))
    expected, actual = math.prod(shape), len(data) - header_size
    if actual != expected:
        problem = "truncated" if actual < expected else f"{actual - expected} trailing bytes"
        dims = "x".join(map(str, shape))
        raise DataError(
            f"{path}: {problem}: dimensions {dims} need {expected} data bytes, found {actual}"
        )
    # Copied so the array is writable: torch.from_numpy warns on read-only buffers.
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape).copy()


def labels_path_for(images_path: Path) -> Path | None:
    """The labels file beside an images file, if any: t10k-images-idx3-ubyte[.gz] ->
    t10k-labels-idx1-ubyte[.gz] (either compression), or the name with "images" -> "labels"."""
    name = images_path.name
    renamed = [
        name.replace("images-idx3-ubyte", "labels-idx1-ubyte"),
        name.replace("images", "labels").replace("idx3", "idx1"),
        name.replace("images", "labels"),
    ]
    for candidate in renamed:
        if candidate == name:
            continue
        stem = candidate.removesuffix(".gz")
        for labels_name in (candidate, stem, stem + ".gz"):
            labels_path = images_path.with_name(labels_name)
            if labels_path.is_file():
                return labels_path
    return None


def read_idx_dataset(images_path: str | os.PathLike[str]) -> Dataset:
    """Images (N, 28, 28) from an IDX file, with labels from the file beside it if there is one."""
    images_path = Path(images_path)
    images = read_idx(images_path)
    labels_path = labels_path_for(images_path)
    if labels_path is None:
        return Dataset(images, None, str(images_path))

    labels = read_idx(labels_path)
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: labels have shape {labels.shape}, expected (N,)")
    if len(labels) != len(images):
        raise DataError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels"
        )
    return Dataset(images, labels.astype(np.int64), str(images_path))
