"""Synthetic IDX data for the data tests, shared as fixtures since test dirs are not packages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from counterfeit.errors import DataError


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file's bytes: 0, 0, type code, ndim, big-endian uint32 dims, then the data."""
    dims = b"".join(size.to_bytes(4, "big") for size in array.shape)
    return bytes([0, 0, type_code, array.ndim]) + dims + array.astype(np.uint8).tobytes()


def check_error(error: pytest.ExceptionInfo[DataError], path: Path | str, *phrases: str) -> None:
    """Every DataError is one line that names the file and says what is wrong."""
    message = str(error.value)
    assert "\n" not in message
    assert str(path) in message
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"


@pytest.fixture(name="idx_bytes")
def idx_bytes_fixture() -> Callable[..., bytes]:
    return idx_bytes


@pytest.fixture(name="check_error")
def check_error_fixture() -> Callable[..., None]:
    return check_error


@pytest.fixture
def digits() -> tuple[np.ndarray, np.ndarray]:
    """Five random 28x28 uint8 images and their labels."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), np.array([3, 1, 4, 1, 5])
