"""One entry point from a user's data argument to a Dataset."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from counterfeit.data.dataset import Dataset
from counterfeit.data.embedded import load_embedded
from counterfeit.data.idx import read_idx_dataset
from counterfeit.data.npz import read_npz

EMBEDDED = "embedded"


def absolute_data(data: str | os.PathLike[str]) -> str:
    """A data argument as a run records it: "embedded" as it is, a path made absolute, so that
    `eval` and `--resume` find the file from any directory."""
    return EMBEDDED if data == EMBEDDED else os.path.abspath(data)


def load_dataset(path: str | os.PathLike[str] | None) -> Dataset:
    """None or "embedded": the embedded MNIST; an .npz (by name or content); else an IDX file."""
    if path is None or path == EMBEDDED:
        return load_embedded()
    path = Path(path)
    # is_zipfile swallows OSErrors; the reader called next reports missing or unreadable files.
    if path.suffix.lower() == ".npz" or zipfile.is_zipfile(path):
        return read_npz(path)
    return read_idx_dataset(path)
