"""The in-memory dataset every reader returns: uint8 images, optional labels, their source."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from counterfeit.errors import DataError

IMAGE_SHAPE = (28, 28)
MIN_NUM_CLASSES = 10


# eq=False: the generated __eq__/__hash__ would compare arrays element-wise and fail.
@dataclass(frozen=True, eq=False)
class Dataset:
    """Validated on construction, so code downstream never re-checks shapes or dtypes.

    The arrays stay writable because torch.from_numpy warns on read-only ones; treat them as
    immutable all the same, since `fingerprint` is computed once and cached.
    """

    images: np.ndarray  # uint8 (N, 28, 28), or (N, C, 28, 28) for C-channel data (stacked-mnist)
    labels: np.ndarray | None  # int64 (N,), each >= 0; None for unlabelled data
    source: str  # human-readable: a path, or "embedded MNIST (...)"
    name: str | None = None  # a known dataset these images are from ("mnist", "fashion-mnist", ...)
    classes: tuple[str, ...] | None = None  # class names by label (an image folder's subfolders)

    def __post_init__(self) -> None:
        images, labels = self.images, self.labels
        if images.dtype != np.uint8:
            raise DataError(f"{self.source}: images have dtype {images.dtype}, expected uint8")
        if images.ndim not in (3, 4) or images.shape[-2:] != IMAGE_SHAPE:
            raise DataError(
                f"{self.source}: images have shape {images.shape}, expected (N, 28, 28) or (N, C, 28, 28)"
            )
        if len(images) == 0:
            raise DataError(f"{self.source}: contains no images")
        if labels is None:
            return
        if labels.dtype != np.int64 or labels.ndim != 1:
            raise DataError(
                f"{self.source}: labels are {labels.dtype} with shape {labels.shape},"
                " expected int64 (N,)"
            )
        if len(labels) != len(images):
            raise DataError(f"{self.source}: {len(images)} images but {len(labels)} labels")
        if labels.min() < 0:
            raise DataError(f"{self.source}: labels must be >= 0, found {labels.min()}")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def channels(self) -> int:
        return 1 if self.images.ndim == 3 else self.images.shape[1]

    @cached_property
    def num_classes(self) -> int | None:
        """10 for MNIST-like data; more if a label is larger, so class embeddings never overflow."""
        if self.labels is None:
            return None
        return max(MIN_NUM_CLASSES, int(self.labels.max()) + 1)

    @cached_property
    def fingerprint(self) -> str:
        """Identifies pixels and labels (not the source), e.g. to key cached real-data stats."""
        digest = hashlib.sha256(np.ascontiguousarray(self.images))
        if self.labels is not None:
            digest.update(np.ascontiguousarray(self.labels))
        return digest.hexdigest()[:16]


def file_error(path: str | os.PathLike[str], error: OSError) -> DataError:
    """One line for an OSError met opening a data file (missing, a directory, no permission)."""
    if isinstance(error, FileNotFoundError):
        reason = "no such file"
    elif isinstance(error, IsADirectoryError):
        reason = "is a directory (expected an IDX images file or an .npz)"
    else:
        reason = f"cannot read ({error.strerror or error})"
    return DataError(f"{os.fspath(path)}: {reason}")
